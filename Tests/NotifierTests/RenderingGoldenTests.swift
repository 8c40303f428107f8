import ChaparModels
import Testing
@testable import Notifier

/// Golden renders of every shipped template in Farsi and English, written by hand.
///
/// Inputs (see ``RenderingFixtures``): everything happens at 2026-03-21 10:00 UTC, which is
/// 1 Farvardin 1405 13:30 for Maryam (fa, Asia/Tehran, +03:30) and 21 Mar 2026 10:00 for Sara
/// (en, Europe/London, GMT). The account IR06…0001 is masked as `****0001`; in Persian text every
/// Latin run is wrapped in U+2066 … U+2069 (written ``L`` … ``P`` below).
@Suite struct RenderingGolden {
    static let L = "\u{2066}", P = "\u{2069}"
    static let acctFa = L + "****0001" + P
    static let faWhen = "۱ فروردین ۱۴۰۵ ساعت ۱۳:۳۰"
    static let faHead = "<!DOCTYPE html>\n<html dir=\"rtl\" lang=\"fa\">\n<body>\n"
    static let enHead = "<!DOCTYPE html>\n<html lang=\"en\">\n<body>\n"
    static let tail = "\n</body>\n</html>"

    struct Golden: Sendable, CustomTestStringConvertible {
        var label: String
        var event: Event
        var customer: CustomerProfile
        var channel: Channel
        var expected: RenderedContent
        var testDescription: String { label }
    }

    static let f = RenderingFixtures.self

    static let goldens: [Golden] = transactionGoldens + messageGoldens

    static let transactionGoldens: [Golden] = [
        // ---- debit: 12,500,000 IRR, balance 48,730,000 IRR, Persian description, Latin counterparty
        Golden(label: "sms debit fa", event: f.debit, customer: f.maryam, channel: .sms, expected: .sms(
            text: "بانک چاپار\nبرداشت ۱۲٬۵۰۰٬۰۰۰ ریال\nحساب \(acctFa)\n\(faWhen)\nمانده ۴۸٬۷۳۰٬۰۰۰ ریال", encoding: "ucs2", segments: 2)),
        Golden(label: "sms debit en", event: f.debit, customer: f.sara, channel: .sms, expected: .sms(
            text: "Chapar Bank: debit 12,500,000 IRR\nAccount ****0001\n21 Mar 2026 10:00\nBalance 48,730,000 IRR", encoding: "gsm7", segments: 1)),
        Golden(label: "email debit fa", event: f.debit, customer: f.maryam, channel: .email, expected: .email(
            subject: "برداشت ۱۲٬۵۰۰٬۰۰۰ ریال از حساب \(acctFa)",
            text: "مریم احمدی گرامی،\nمبلغ ۱۲٬۵۰۰٬۰۰۰ ریال از حساب \(acctFa) برداشت شد.\nتاریخ: \(faWhen)\nشرح: خرید از فروشگاه\nمانده: ۴۸٬۷۳۰٬۰۰۰ ریال\nبانک چاپار",
            html: faHead + "<p>مریم احمدی گرامی،</p>\n<p>مبلغ <strong>۱۲٬۵۰۰٬۰۰۰ ریال</strong> از حساب \(acctFa) برداشت شد.</p>\n<p>تاریخ: \(faWhen)</p>\n<p>شرح: خرید از فروشگاه</p>\n<p>مانده: ۴۸٬۷۳۰٬۰۰۰ ریال</p>\n<p>بانک چاپار</p>" + tail)),
        Golden(label: "email debit en", event: f.debit, customer: f.sara, channel: .email, expected: .email(
            subject: "Debit of 12,500,000 IRR on account ****0001",
            text: "Dear Sara Ahmadi,\n12,500,000 IRR was debited from account ****0001.\nDate: 21 Mar 2026 10:00\nDescription: خرید از فروشگاه\nBalance: 48,730,000 IRR\nChapar Bank",
            html: enHead + "<p>Dear Sara Ahmadi,</p>\n<p><strong>12,500,000 IRR</strong> was debited from account ****0001.</p>\n<p>Date: 21 Mar 2026 10:00</p>\n<p>Description: خرید از فروشگاه</p>\n<p>Balance: 48,730,000 IRR</p>\n<p>Chapar Bank</p>" + tail)),
        Golden(label: "fax debit fa", event: f.debit, customer: f.maryam, channel: .fax, expected: .fax(
            title: "بانک چاپار — اعلان برداشت",
            lines: ["مریم احمدی گرامی،", "مبلغ ۱۲٬۵۰۰٬۰۰۰ ریال از حساب \(acctFa) برداشت شد.", "تاریخ: \(faWhen)",
                    "شرح: خرید از فروشگاه", "طرف حساب: \(L)Snapp Market\(P)", "مانده: ۴۸٬۷۳۰٬۰۰۰ ریال"])),
        Golden(label: "fax debit en", event: f.debit, customer: f.sara, channel: .fax, expected: .fax(
            title: "Chapar Bank — Debit advice",
            lines: ["Dear Sara Ahmadi,", "12,500,000 IRR was debited from account ****0001.", "Date: 21 Mar 2026 10:00",
                    "Description: خرید از فروشگاه", "Counterparty: Snapp Market", "Balance: 48,730,000 IRR"])),
        Golden(label: "im debit fa", event: f.debit, customer: f.maryam, channel: .im, expected: .im(
            text: "*بانک چاپار*\nبرداشت ۱۲٬۵۰۰٬۰۰۰ ریال از حساب \(L)\\*\\*\\*\\*0001\(P)\n\(faWhen)\nمانده: ۴۸٬۷۳۰٬۰۰۰ ریال", format: "markdown")),
        Golden(label: "im debit en", event: f.debit, customer: f.sara, channel: .im, expected: .im(
            text: "*Chapar Bank*\nDebit 12,500,000 IRR from account \\*\\*\\*\\*0001\n21 Mar 2026 10:00\nBalance: 48,730,000 IRR", format: "markdown")),

        // ---- credit: EUR 12.50, no balance, description with HTML/Markdown specials, no counterparty
        Golden(label: "sms credit fa", event: f.credit, customer: f.maryam, channel: .sms, expected: .sms(
            text: "بانک چاپار\nواریز ۱۲٫۵۰ یورو\nحساب \(acctFa)\n\(faWhen)", encoding: "ucs2", segments: 1)),
        Golden(label: "sms credit en", event: f.credit, customer: f.sara, channel: .sms, expected: .sms(
            text: "Chapar Bank: credit 12.50 EUR\nAccount ****0001\n21 Mar 2026 10:00", encoding: "gsm7", segments: 1)),
        Golden(label: "email credit fa", event: f.credit, customer: f.maryam, channel: .email, expected: .email(
            subject: "واریز ۱۲٫۵۰ یورو به حساب \(acctFa)",
            text: "مریم احمدی گرامی،\nمبلغ ۱۲٫۵۰ یورو به حساب \(acctFa) واریز شد.\nتاریخ: \(faWhen)\nشرح: \(L)Refund <order #42> & co\(P)\nبانک چاپار",
            html: faHead + "<p>مریم احمدی گرامی،</p>\n<p>مبلغ <strong>۱۲٫۵۰ یورو</strong> به حساب \(acctFa) واریز شد.</p>\n<p>تاریخ: \(faWhen)</p>\n<p>شرح: \(L)Refund &lt;order #42&gt; &amp; co\(P)</p>\n<p>بانک چاپار</p>" + tail)),
        Golden(label: "email credit en", event: f.credit, customer: f.sara, channel: .email, expected: .email(
            subject: "Credit of 12.50 EUR on account ****0001",
            text: "Dear Sara Ahmadi,\n12.50 EUR was credited to account ****0001.\nDate: 21 Mar 2026 10:00\nDescription: Refund <order #42> & co\nChapar Bank",
            html: enHead + "<p>Dear Sara Ahmadi,</p>\n<p><strong>12.50 EUR</strong> was credited to account ****0001.</p>\n<p>Date: 21 Mar 2026 10:00</p>\n<p>Description: Refund &lt;order #42&gt; &amp; co</p>\n<p>Chapar Bank</p>" + tail)),
        Golden(label: "fax credit fa", event: f.credit, customer: f.maryam, channel: .fax, expected: .fax(
            title: "بانک چاپار — اعلان واریز",
            lines: ["مریم احمدی گرامی،", "مبلغ ۱۲٫۵۰ یورو به حساب \(acctFa) واریز شد.", "تاریخ: \(faWhen)", "شرح: \(L)Refund <order #42> & co\(P)"])),
        Golden(label: "fax credit en", event: f.credit, customer: f.sara, channel: .fax, expected: .fax(
            title: "Chapar Bank — Credit advice",
            lines: ["Dear Sara Ahmadi,", "12.50 EUR was credited to account ****0001.", "Date: 21 Mar 2026 10:00", "Description: Refund <order #42> & co"])),
        Golden(label: "im credit fa", event: f.credit, customer: f.maryam, channel: .im, expected: .im(
            text: "*بانک چاپار*\nواریز ۱۲٫۵۰ یورو به حساب \(L)\\*\\*\\*\\*0001\(P)\n\(faWhen)", format: "markdown")),
        Golden(label: "im credit en", event: f.credit, customer: f.sara, channel: .im, expected: .im(
            text: "*Chapar Bank*\nCredit 12\\.50 EUR to account \\*\\*\\*\\*0001\n21 Mar 2026 10:00", format: "markdown")),

        // ---- salary: a bank kind without its own template, so `transaction` renders it; `kind` is its name
        Golden(label: "sms transaction fa", event: f.salary, customer: f.maryam, channel: .sms, expected: .sms(
            text: "بانک چاپار\nواریز (حقوق) ۳۵۰٬۰۰۰٬۰۰۰ ریال\nحساب \(acctFa)\n\(faWhen)\nمانده ۳۹۸٬۷۳۰٬۰۰۰ ریال", encoding: "ucs2", segments: 2)),
        Golden(label: "sms transaction en", event: f.salary, customer: f.sara, channel: .sms, expected: .sms(
            text: "Chapar Bank: salary (credit) 350,000,000 IRR\nAccount ****0001\n21 Mar 2026 10:00\nBalance 398,730,000 IRR", encoding: "gsm7", segments: 1)),
        Golden(label: "email transaction fa", event: f.salary, customer: f.maryam, channel: .email, expected: .email(
            subject: "تراکنش حقوق در حساب \(acctFa)",
            text: "مریم احمدی گرامی،\nتراکنش حقوق (واریز) به مبلغ ۳۵۰٬۰۰۰٬۰۰۰ ریال در حساب \(acctFa) ثبت شد.\nتاریخ: \(faWhen)\nمانده: ۳۹۸٬۷۳۰٬۰۰۰ ریال\nبانک چاپار",
            html: faHead + "<p>مریم احمدی گرامی،</p>\n<p>تراکنش حقوق (واریز) به مبلغ <strong>۳۵۰٬۰۰۰٬۰۰۰ ریال</strong> در حساب \(acctFa) ثبت شد.</p>\n<p>تاریخ: \(faWhen)</p>\n<p>مانده: ۳۹۸٬۷۳۰٬۰۰۰ ریال</p>\n<p>بانک چاپار</p>" + tail)),
        Golden(label: "email transaction en", event: f.salary, customer: f.sara, channel: .email, expected: .email(
            subject: "salary transaction on account ****0001",
            text: "Dear Sara Ahmadi,\nA salary transaction (credit) of 350,000,000 IRR was booked on account ****0001.\nDate: 21 Mar 2026 10:00\nBalance: 398,730,000 IRR\nChapar Bank",
            html: enHead + "<p>Dear Sara Ahmadi,</p>\n<p>A salary transaction (credit) of <strong>350,000,000 IRR</strong> was booked on account ****0001.</p>\n<p>Date: 21 Mar 2026 10:00</p>\n<p>Balance: 398,730,000 IRR</p>\n<p>Chapar Bank</p>" + tail)),
        Golden(label: "fax transaction fa", event: f.salary, customer: f.maryam, channel: .fax, expected: .fax(
            title: "بانک چاپار — اعلان تراکنش",
            lines: ["مریم احمدی گرامی،", "تراکنش حقوق (واریز) به مبلغ ۳۵۰٬۰۰۰٬۰۰۰ ریال در حساب \(acctFa) ثبت شد.", "تاریخ: \(faWhen)", "مانده: ۳۹۸٬۷۳۰٬۰۰۰ ریال"])),
        Golden(label: "fax transaction en", event: f.salary, customer: f.sara, channel: .fax, expected: .fax(
            title: "Chapar Bank — Transaction advice",
            lines: ["Dear Sara Ahmadi,", "A salary transaction (credit) of 350,000,000 IRR was booked on account ****0001.", "Date: 21 Mar 2026 10:00", "Balance: 398,730,000 IRR"])),
        Golden(label: "im transaction fa", event: f.salary, customer: f.maryam, channel: .im, expected: .im(
            text: "*بانک چاپار*\nواریز \\(حقوق\\) ۳۵۰٬۰۰۰٬۰۰۰ ریال، حساب \(L)\\*\\*\\*\\*0001\(P)\n\(faWhen)\nمانده: ۳۹۸٬۷۳۰٬۰۰۰ ریال", format: "markdown")),
        Golden(label: "im transaction en", event: f.salary, customer: f.sara, channel: .im, expected: .im(
            text: "*Chapar Bank*\nsalary \\(credit\\) 350,000,000 IRR, account \\*\\*\\*\\*0001\n21 Mar 2026 10:00\nBalance: 398,730,000 IRR", format: "markdown")),
    ]

    static let messageGoldens: [Golden] = [
        // ---- otp: code 482913, expires two minutes later
        Golden(label: "sms otp fa", event: f.otp, customer: f.maryam, channel: .sms, expected: .sms(
            text: "بانک چاپار\nرمز یکبار مصرف: \(L)482913\(P)\nمعتبر تا ساعت ۱۳:۳۲\nاین رمز را به هیچ کس ندهید.", encoding: "ucs2", segments: 2)),
        Golden(label: "sms otp en", event: f.otp, customer: f.sara, channel: .sms, expected: .sms(
            text: "Chapar Bank code: 482913\nValid until 10:02.\nNever share this code.", encoding: "gsm7", segments: 1)),
        Golden(label: "email otp fa", event: f.otp, customer: f.maryam, channel: .email, expected: .email(
            subject: "رمز یکبار مصرف بانک چاپار",
            text: "مریم احمدی گرامی،\nرمز یکبار مصرف شما: \(L)482913\(P)\nمعتبر تا ساعت ۱۳:۳۲\nاین رمز را به هیچ کس ندهید.",
            html: faHead + "<p>مریم احمدی گرامی،</p>\n<p>رمز یکبار مصرف شما: <strong>\(L)482913\(P)</strong></p>\n<p>معتبر تا ساعت ۱۳:۳۲</p>\n<p>این رمز را به هیچ کس ندهید.</p>" + tail)),
        Golden(label: "email otp en", event: f.otp, customer: f.sara, channel: .email, expected: .email(
            subject: "Your Chapar Bank one-time code",
            text: "Dear Sara Ahmadi,\nYour one-time code: 482913\nValid until 10:02.\nNever share this code.",
            html: enHead + "<p>Dear Sara Ahmadi,</p>\n<p>Your one-time code: <strong>482913</strong></p>\n<p>Valid until 10:02.</p>\n<p>Never share this code.</p>" + tail)),
        Golden(label: "fax otp fa", event: f.otp, customer: f.maryam, channel: .fax, expected: .fax(
            title: "بانک چاپار — رمز یکبار مصرف", lines: ["مریم احمدی گرامی،", "رمز یکبار مصرف شما: \(L)482913\(P)", "معتبر تا ساعت ۱۳:۳۲"])),
        Golden(label: "fax otp en", event: f.otp, customer: f.sara, channel: .fax, expected: .fax(
            title: "Chapar Bank — one-time code", lines: ["Dear Sara Ahmadi,", "Your one-time code: 482913", "Valid until 10:02"])),
        Golden(label: "im otp fa", event: f.otp, customer: f.maryam, channel: .im, expected: .im(
            text: "*بانک چاپار*\nرمز یکبار مصرف: `\(L)482913\(P)`\nمعتبر تا ساعت ۱۳:۳۲", format: "markdown")),
        Golden(label: "im otp en", event: f.otp, customer: f.sara, channel: .im, expected: .im(
            text: "*Chapar Bank*\nYour code: `482913`\nValid until 10:02", format: "markdown")),

        // ---- login-alert: device "Chrome on Windows", location "Tehran"
        Golden(label: "sms login-alert fa", event: f.loginAlert, customer: f.maryam, channel: .sms, expected: .sms(
            text: "بانک چاپار\nورود به بانکداری اینترنتی با \(L)Chrome on Windows\(P) از \(L)Tehran\(P)\n\(faWhen)\nاگر شما نبودید با ما تماس بگیرید.", encoding: "ucs2", segments: 2)),
        Golden(label: "sms login-alert en", event: f.loginAlert, customer: f.sara, channel: .sms, expected: .sms(
            text: "Chapar Bank: new sign-in from Chrome on Windows in Tehran\n21 Mar 2026 10:00\nNot you? Call us.", encoding: "gsm7", segments: 1)),
        Golden(label: "email login-alert fa", event: f.loginAlert, customer: f.maryam, channel: .email, expected: .email(
            subject: "ورود جدید به حساب بانک چاپار",
            text: "مریم احمدی گرامی،\nورود جدید با \(L)Chrome on Windows\(P) از \(L)Tehran\(P)\nتاریخ: \(faWhen)\nاگر شما نبودید با ما تماس بگیرید.",
            html: faHead + "<p>مریم احمدی گرامی،</p>\n<p>ورود جدید با \(L)Chrome on Windows\(P) از \(L)Tehran\(P)</p>\n<p>تاریخ: \(faWhen)</p>\n<p>اگر شما نبودید با ما تماس بگیرید.</p>" + tail)),
        Golden(label: "email login-alert en", event: f.loginAlert, customer: f.sara, channel: .email, expected: .email(
            subject: "New sign-in to Chapar Bank",
            text: "Dear Sara Ahmadi,\nNew sign-in from Chrome on Windows in Tehran\nDate: 21 Mar 2026 10:00\nNot you? Call us.",
            html: enHead + "<p>Dear Sara Ahmadi,</p>\n<p>New sign-in from Chrome on Windows in Tehran</p>\n<p>Date: 21 Mar 2026 10:00</p>\n<p>Not you? Call us.</p>" + tail)),
        Golden(label: "fax login-alert fa", event: f.loginAlert, customer: f.maryam, channel: .fax, expected: .fax(
            title: "بانک چاپار — هشدار ورود", lines: ["مریم احمدی گرامی،", "ورود جدید با \(L)Chrome on Windows\(P) از \(L)Tehran\(P)", "تاریخ: \(faWhen)"])),
        Golden(label: "fax login-alert en", event: f.loginAlert, customer: f.sara, channel: .fax, expected: .fax(
            title: "Chapar Bank — sign-in alert", lines: ["Dear Sara Ahmadi,", "New sign-in from Chrome on Windows in Tehran", "Date: 21 Mar 2026 10:00"])),
        Golden(label: "im login-alert fa", event: f.loginAlert, customer: f.maryam, channel: .im, expected: .im(
            text: "*بانک چاپار*\nورود جدید با \(L)Chrome on Windows\(P) از \(L)Tehran\(P)\n\(faWhen)", format: "markdown")),
        Golden(label: "im login-alert en", event: f.loginAlert, customer: f.sara, channel: .im, expected: .im(
            text: "*Chapar Bank*\nNew sign\\-in from Chrome on Windows in Tehran\n21 Mar 2026 10:00", format: "markdown")),

        // ---- card-blocked: card ****5678, Persian reason
        Golden(label: "sms card-blocked fa", event: f.cardBlocked, customer: f.maryam, channel: .sms, expected: .sms(
            text: "بانک چاپار\nکارت \(L)****5678\(P) مسدود شد.\nعلت: سه بار رمز اشتباه\n\(faWhen)", encoding: "ucs2", segments: 2)),
        Golden(label: "sms card-blocked en", event: f.cardBlocked, customer: f.sara, channel: .sms, expected: .sms(
            text: "Chapar Bank: card ****5678 has been blocked.\nReason: سه بار رمز اشتباه\n21 Mar 2026 10:00", encoding: "ucs2", segments: 2)),
        Golden(label: "email card-blocked fa", event: f.cardBlocked, customer: f.maryam, channel: .email, expected: .email(
            subject: "کارت \(L)****5678\(P) مسدود شد",
            text: "مریم احمدی گرامی،\nکارت \(L)****5678\(P) مسدود شد.\nعلت: سه بار رمز اشتباه\nتاریخ: \(faWhen)",
            html: faHead + "<p>مریم احمدی گرامی،</p>\n<p>کارت \(L)****5678\(P) مسدود شد.</p>\n<p>علت: سه بار رمز اشتباه</p>\n<p>تاریخ: \(faWhen)</p>" + tail)),
        Golden(label: "email card-blocked en", event: f.cardBlocked, customer: f.sara, channel: .email, expected: .email(
            subject: "Card ****5678 blocked",
            text: "Dear Sara Ahmadi,\nCard ****5678 has been blocked.\nReason: سه بار رمز اشتباه\nDate: 21 Mar 2026 10:00",
            html: enHead + "<p>Dear Sara Ahmadi,</p>\n<p>Card ****5678 has been blocked.</p>\n<p>Reason: سه بار رمز اشتباه</p>\n<p>Date: 21 Mar 2026 10:00</p>" + tail)),
        Golden(label: "fax card-blocked fa", event: f.cardBlocked, customer: f.maryam, channel: .fax, expected: .fax(
            title: "بانک چاپار — مسدودی کارت", lines: ["مریم احمدی گرامی،", "کارت \(L)****5678\(P) مسدود شد.", "علت: سه بار رمز اشتباه", "تاریخ: \(faWhen)"])),
        Golden(label: "fax card-blocked en", event: f.cardBlocked, customer: f.sara, channel: .fax, expected: .fax(
            title: "Chapar Bank — card blocked", lines: ["Dear Sara Ahmadi,", "Card ****5678 has been blocked.", "Reason: سه بار رمز اشتباه", "Date: 21 Mar 2026 10:00"])),
        Golden(label: "im card-blocked fa", event: f.cardBlocked, customer: f.maryam, channel: .im, expected: .im(
            text: "*بانک چاپار*\nکارت \(L)\\*\\*\\*\\*5678\(P) مسدود شد\nعلت: سه بار رمز اشتباه", format: "markdown")),
        Golden(label: "im card-blocked en", event: f.cardBlocked, customer: f.sara, channel: .im, expected: .im(
            text: "*Chapar Bank*\nCard \\*\\*\\*\\*5678 has been blocked\nReason: سه بار رمز اشتباه", format: "markdown")),

        // ---- birthday: no variables of its own
        Golden(label: "sms birthday fa", event: f.birthday, customer: f.maryam, channel: .sms, expected: .sms(
            text: "مریم احمدی عزیز، زادروزتان خجسته باد!\nبانک چاپار", encoding: "ucs2", segments: 1)),
        Golden(label: "sms birthday en", event: f.birthday, customer: f.sara, channel: .sms, expected: .sms(
            text: "Happy birthday, Sara Ahmadi!\nChapar Bank", encoding: "gsm7", segments: 1)),
        Golden(label: "email birthday fa", event: f.birthday, customer: f.maryam, channel: .email, expected: .email(
            subject: "زادروزتان خجسته باد، مریم احمدی",
            text: "مریم احمدی عزیز،\nزادروزتان را شادباش می‌گوییم.\nبانک چاپار",
            html: faHead + "<p>مریم احمدی عزیز،</p>\n<p>زادروزتان را شادباش می‌گوییم.</p>\n<p>بانک چاپار</p>" + tail)),
        Golden(label: "email birthday en", event: f.birthday, customer: f.sara, channel: .email, expected: .email(
            subject: "Happy birthday, Sara Ahmadi",
            text: "Dear Sara Ahmadi,\nHappy birthday from all of us.\nChapar Bank",
            html: enHead + "<p>Dear Sara Ahmadi,</p>\n<p>Happy birthday from all of us.</p>\n<p>Chapar Bank</p>" + tail)),
        Golden(label: "fax birthday fa", event: f.birthday, customer: f.maryam, channel: .fax, expected: .fax(
            title: "بانک چاپار — زادروزتان خجسته باد", lines: ["مریم احمدی عزیز،", "زادروزتان را شادباش می‌گوییم."])),
        Golden(label: "fax birthday en", event: f.birthday, customer: f.sara, channel: .fax, expected: .fax(
            title: "Chapar Bank — happy birthday", lines: ["Dear Sara Ahmadi,", "Happy birthday from all of us."])),
        Golden(label: "im birthday fa", event: f.birthday, customer: f.maryam, channel: .im, expected: .im(
            text: "🎉 مریم احمدی عزیز، زادروزتان خجسته باد\\!\n_بانک چاپار_", format: "markdown")),
        Golden(label: "im birthday en", event: f.birthday, customer: f.sara, channel: .im, expected: .im(
            text: "🎉 Happy birthday, Sara Ahmadi\\!\n_Chapar Bank_", format: "markdown")),

        // ---- campaign: Latin title and offer, a link with & and =
        Golden(label: "sms campaign fa", event: f.campaign, customer: f.maryam, channel: .sms, expected: .sms(
            text: "بانک چاپار: \(L)Nowruz 1405\(P)\n\(L)0% fee on transfers until 13 Farvardin\(P)\nhttps://bank.example/nowruz?a=1&b=2", encoding: "ucs2", segments: 2)),
        Golden(label: "sms campaign en", event: f.campaign, customer: f.sara, channel: .sms, expected: .sms(
            text: "Chapar Bank: Nowruz 1405\n0% fee on transfers until 13 Farvardin\nhttps://bank.example/nowruz?a=1&b=2", encoding: "gsm7", segments: 1)),
        Golden(label: "email campaign fa", event: f.campaign, customer: f.maryam, channel: .email, expected: .email(
            subject: "\(L)Nowruz 1405\(P)",
            text: "\(L)0% fee on transfers until 13 Farvardin\(P)\nhttps://bank.example/nowruz?a=1&b=2\nبانک چاپار",
            html: faHead + "<h1>\(L)Nowruz 1405\(P)</h1>\n<p>\(L)0% fee on transfers until 13 Farvardin\(P)</p>\n<p><a href=\"https://bank.example/nowruz?a=1&amp;b=2\">https://bank.example/nowruz?a=1&amp;b=2</a></p>\n<p>بانک چاپار</p>" + tail)),
        Golden(label: "email campaign en", event: f.campaign, customer: f.sara, channel: .email, expected: .email(
            subject: "Nowruz 1405",
            text: "0% fee on transfers until 13 Farvardin\nhttps://bank.example/nowruz?a=1&b=2\nChapar Bank",
            html: enHead + "<h1>Nowruz 1405</h1>\n<p>0% fee on transfers until 13 Farvardin</p>\n<p><a href=\"https://bank.example/nowruz?a=1&amp;b=2\">https://bank.example/nowruz?a=1&amp;b=2</a></p>\n<p>Chapar Bank</p>" + tail)),
        Golden(label: "fax campaign fa", event: f.campaign, customer: f.maryam, channel: .fax, expected: .fax(
            title: "بانک چاپار — \(L)Nowruz 1405\(P)", lines: ["\(L)0% fee on transfers until 13 Farvardin\(P)", "https://bank.example/nowruz?a=1&b=2"])),
        Golden(label: "fax campaign en", event: f.campaign, customer: f.sara, channel: .fax, expected: .fax(
            title: "Chapar Bank — Nowruz 1405", lines: ["0% fee on transfers until 13 Farvardin", "https://bank.example/nowruz?a=1&b=2"])),
        Golden(label: "im campaign fa", event: f.campaign, customer: f.maryam, channel: .im, expected: .im(
            text: "*\(L)Nowruz 1405\(P)*\n\(L)0% fee on transfers until 13 Farvardin\(P)\nhttps://bank\\.example/nowruz?a\\=1&b\\=2\n_بانک چاپار_", format: "markdown")),
        Golden(label: "im campaign en", event: f.campaign, customer: f.sara, channel: .im, expected: .im(
            text: "*Nowruz 1405*\n0% fee on transfers until 13 Farvardin\nhttps://bank\\.example/nowruz?a\\=1&b\\=2\n_Chapar Bank_", format: "markdown")),
    ]

    @Test(arguments: goldens)
    func golden(_ g: Golden) throws {
        let rendered = try RenderingFixtures.renderer.render(g.event, for: g.customer, channel: g.channel)
        #expect(rendered == g.expected)
    }

    /// Every shipped (channel, template) pair has a golden in both languages.
    @Test func everyShippedTemplateHasGoldens() {
        let covered = Set(Self.goldens.map { "\($0.channel) \($0.label.split(separator: " ")[1]) \($0.customer.language)" })
        for (channel, name) in RenderingFixtures.shipped.names {
            for language in Language.allCases {
                #expect(covered.contains("\(channel) \(name) \(language)"), "no golden for \(channel)/\(name).\(language)")
            }
        }
        #expect(RenderingFixtures.shipped.names.count == 32)
    }
}
