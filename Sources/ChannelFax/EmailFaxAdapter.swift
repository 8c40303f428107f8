public import ChaparModels
public import ChannelEmail
public import Delivery

/// An email-to-fax gateway (a provider's, or HylaFAX's own faxmail behind an SMTP server): each
/// job rendered into an A4 PDF and mailed through the email adapter's SMTP to
/// `<fax number>@<domain>`, the PDF attached, the title as the subject. Everything about the SMTP
/// side (STARTTLS, AUTH, `Message-ID` from the job id, how replies end an attempt) is
/// ``SMTPAdapter``'s; this adapter only makes the document and the address.
public struct EmailFaxAdapter: GatewayAdapter {
    public let name: String
    /// The recipient domain: a fax to `+982155512345` goes to `+982155512345@domain`.
    public let domain: String
    public let renderer: FaxRenderer
    public let smtp: SMTPAdapter

    public init(name: String, domain: String, renderer: FaxRenderer, smtp: SMTPAdapter) {
        self.name = name
        self.domain = domain
        self.renderer = renderer
        self.smtp = smtp
    }

    /// `type: email-fax`: `domain`, the smtp gateway's options (`url`, `from`, `starttls`, `username`,
    /// `password`, …) and the letterhead (`bank-name`, `address`, `contact`, `sender-fax`, `time-zone`).
    public static let factory: AdapterFactory = { (settings, options, _) throws(ConfigurationProblem) in
        let domain = try options.string("domain")
        do throws(InvalidValue) {
            _ = try ContactAddress(.email, "fax@\(domain)")
        } catch {
            throw ConfigurationProblem(key: "domain", "'\(domain)' is not a mail domain: \(error.reason)")
        }
        let smtp = SMTPAdapter(name: settings.name, configuration: try SMTPAdapter.configuration(options),
                               timeouts: settings.timeouts, tls: settings.tls)
        return EmailFaxAdapter(name: settings.name, domain: domain, renderer: try FaxSettings.renderer(options), smtp: smtp)
    }

    public func deliver(_ job: DeliveryJob, attempt: Int, via transport: any Transport) async -> AttemptResult {
        let (document, pdf): (FaxDocument, [UInt8])
        switch RenderedFax(job, renderer: renderer, gateway: name) {
        case .ready(let made, let bytes): (document, pdf) = (made, bytes)
        case .failed(let result): return result
        }
        let result = await transport.perform(smtp.request(message: message(for: job, document: document, pdf: pdf)))
        if case .response(let r) = result { return AttemptResult(outcome(of: result, for: job), status: r.status) }
        return AttemptResult(outcome(of: result, for: job))
    }

    /// The mail for one fax: to `<number>@domain`, the title as subject and the text as body (for
    /// gateways that print the mail itself), the PDF attached.
    public func message(for job: DeliveryJob, document: FaxDocument, pdf: [UInt8]) -> MailMessage {
        MailMessage(
            from: smtp.configuration.from, to: [Mailbox(address: "\(document.to.rawValue)@\(domain)")], replyTo: smtp.configuration.replyTo,
            subject: document.title, text: ([document.title, ""] + document.lines).joined(separator: "\n"), date: job.createdAt,
            messageID: "\(job.id.rawValue)@\(smtp.configuration.messageIDDomain)", language: job.language.rawValue,
            extraHeaders: [("Auto-Submitted", "auto-generated"), ("X-Chapar-Job", job.id.rawValue)],
            attachments: [MailAttachment(filename: "\(job.id.rawValue).pdf", contentType: "application/pdf", bytes: pdf)],
            boundaryToken: job.id.rawValue)
    }

    func outcome(of result: TransferResult, for job: DeliveryJob) -> AttemptOutcome {
        SMTPOutcome.classify(result, gateway: name)
    }
}

extension EmailFaxAdapter {
    /// `type: email-fax` in the configuration file.
    public static let kind = AdapterKind(
        type: "email-fax", channel: .fax,
        options: Set(["domain"]).union(SMTPAdapter.kind.options).union(FaxSettings.letterheadOptions),
        secrets: ["password"], factory: factory)
}
