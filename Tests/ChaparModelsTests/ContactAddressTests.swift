import ChaparModels
import Testing

/// Address validation: every kind, the forgiving input forms, and the rejections with their reasons.
@Suite struct ContactAddressTests {
    @Test(arguments: [
        // Rejections first: (channel, input, part of the reason)
        (Channel.sms, "", "empty"),
        (.sms, "   ", "empty"),
        (.sms, "abc", "only digits"),
        (.sms, "0912-123-4567x", "only digits"),
        (.sms, "9121234567", "no country code"),
        (.sms, "+", "no digits"),
        (.sms, "+0912345678", "never starts with 0"),
        (.sms, "+1234567", "8 to 15 digits"),
        (.sms, "+1234567890123456", "8 to 15 digits"),
        (.sms, "12+3456789", "may only come first"),
        (.sms, "+98 912 123 456", "10 digits after +98"),
        (.sms, "+98912123456789", "10 digits after +98"),
        (.sms, "+982188776655", "mobiles starting +989"),
        (.sms, "+98 912  1234567", "two separators"),
        (.sms, "+98 (912 1234567", "unbalanced"),
        (.sms, "+98 ((912)) 1234567", "nested"),
        (.fax, "+989121234567", "cannot receive faxes"),
        (.fax, "fax", "only digits"),
        (.email, "", "empty"),
        (.email, "ali", "no '@'"),
        (.email, "ali@@example.com", "more than one"),
        (.email, "@example.com", "nothing before"),
        (.email, "ali@", "domain is empty"),
        (.email, "ali@example", "needs a dot"),
        (.email, "ali@example.c", "top-level"),
        (.email, "ali@example.123", "top-level"),
        (.email, "ali@-example.com", "hyphen"),
        (.email, "ali@exa_mple.com", "only letters"),
        (.email, "ali@example..com", "empty label"),
        (.email, ".ali@example.com", "dot may not start"),
        (.email, "ali.@example.com", "may not end with a dot"),
        (.email, "a..li@example.com", "follow another dot"),
        (.email, "a li@example.com", "not allowed"),
        (.email, "a(li@example.com", "not allowed"),
        (.email, "علی@example.com", "ASCII"),
        (.email, String(repeating: "a", count: 65) + "@example.com", "64"),
        (.email, "a@" + String(repeating: "b", count: 64) + ".com", "63"),
        (.im, "ali", "no 'kind:'"),
        (.im, "skype:ali", "not a supported IM kind"),
        (.im, "telegram:", "empty"),
        (.im, "telegram:abc", "number"),
        (.im, "telegram:0", "never 0"),
        (.im, "telegram:0123", "leading zeros"),
        (.im, "telegram:-", "empty"),
        (.im, "telegram:99999999999999999999", "64 bits"),
        (.im, "matrix:ali:example.org", "starts with '@'"),
        (.im, "matrix:@ali", "needs a server"),
        (.im, "matrix:@:example.org", "user name is empty"),
        (.im, "matrix:@Ali:example.org", "a-z"),
        (.im, "matrix:@ali:exa mple.org", "server"),
        (.im, "matrix:@ali:example.org:0", "port"),
        (.im, "matrix:@ali:example.org:70000", "port"),
        (.im, "webhook:", "empty"),
        (.im, "webhook:-ops", "starts with a letter"),
        (.im, "webhook:ops team", "only letters"),
        (.im, "webhook:" + String(repeating: "a", count: 65), "64"),
    ])
    func rejectsWithReason(channel: Channel, input: String, reason: String) {
        do {
            let address = try ContactAddress(channel, input)
            Issue.record("'\(input)' was accepted as \(address.value)")
        } catch {
            #expect(error.description.contains(reason), "reason for '\(input)': \(error.description)")
            #expect(error.field == (channel == .sms ? "phone" : channel.rawValue))
        }
    }

    @Test(arguments: [
        // (channel, input, normal form)
        (Channel.sms, "+989121234567", "+989121234567"),
        (.sms, "09121234567", "+989121234567"),
        (.sms, "00989121234567", "+989121234567"),
        (.sms, "+98 912 123 4567", "+989121234567"),
        (.sms, "+98 (912) 123-4567", "+989121234567"),
        (.sms, "+98 0912 123 4567", "+989121234567"),
        (.sms, "۰۹۱۲۱۲۳۴۵۶۷", "+989121234567"),
        (.sms, "+۹۸۹۳۵۱۲۳۴۵۶۷", "+989351234567"),
        (.sms, "٠٩١٢١٢٣٤٥٦٧", "+989121234567"),
        (.sms, "  +49 151 2345 6789  ", "+4915123456789"),
        (.sms, "+1.415.555.2671", "+14155552671"),
        (.fax, "+98 21 8877 6655", "+982188776655"),
        (.fax, "02188776655", "+982188776655"),
        (.fax, "+49 30 1234567", "+49301234567"),
        (.email, "ali@example.com", "ali@example.com"),
        (.email, "Ali.Rezaei@Example.COM", "Ali.Rezaei@example.com"),
        (.email, "a+tag@mail.example.ir", "a+tag@mail.example.ir"),
        (.email, "o'neil@example.co.uk", "o'neil@example.co.uk"),
        (.email, "x@xn--mgba3a4f16a.ir", "x@xn--mgba3a4f16a.ir"),
        (.email, " ali@example.com ", "ali@example.com"),
        (.im, "telegram:123456789", "telegram:123456789"),
        (.im, "telegram:-1001234567890", "telegram:-1001234567890"),
        (.im, "Telegram:۱۲۳۴۵", "telegram:12345"),
        (.im, "matrix:@ali:example.org", "matrix:@ali:example.org"),
        (.im, "matrix:@ali.r_1=x:Matrix.Example.org:8448", "matrix:@ali.r_1=x:matrix.example.org:8448"),
        (.im, "matrix:@ops:localhost", "matrix:@ops:localhost"),
        (.im, "webhook:ops-alerts", "webhook:ops-alerts"),
        (.im, "WEBHOOK:Ops_1.x", "webhook:Ops_1.x"),
    ])
    func acceptsAndNormalizes(channel: Channel, input: String, normal: String) throws {
        let address = try ContactAddress(channel, input)
        #expect(address.value == normal)
        #expect(address.channel == channel)
        #expect(try ContactAddress(channel, address.value) == address, "the normal form must validate to itself")
    }

    @Test(arguments: [
        (Channel.sms, "+989121234567", "+98912***4567"),
        (.fax, "+982188776655", "+98218***6655"),
        (.email, "ali@example.com", "a***@example.com"),
        (.im, "telegram:123456789", "telegram:***"),
        (.im, "matrix:@ali:example.org", "matrix:***"),
    ])
    func maskHidesPersonalData(channel: Channel, input: String, masked: String) throws {
        #expect(try ContactAddress(channel, input).masked == masked)
    }
}
