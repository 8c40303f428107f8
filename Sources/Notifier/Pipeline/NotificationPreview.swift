public import ChaparModels

/// What each channel would send one customer for one event, or why it would skip it: the same
/// rules and templates as the notifier group, without writing anything (`chapar notify preview`,
/// and the console's customer page later).
public struct NotificationPreview: Sendable, Hashable, Codable {
    /// The channel, or `-` for a decision about the customer as a whole (inactive, not a holder).
    public var channel: String
    /// `send now`, `deferred by quiet hours until …`, or `skip: <reason>`.
    public var outcome: String
    public var address: String?
    /// The lane topic the job would go to.
    public var lane: String?
    /// The rendered message as text.
    public var rendered: String?

    /// One row per decision, in channel order. `now` decides quiet hours and expiry; `formatTime`
    /// writes the time a deferred job would wait for.
    public static func rows(for event: Event, customer: CustomerProfile, renderer: any NotificationRendering, now: Timestamp,
                            formatTime: (Timestamp) -> String) throws(NotifierError) -> [NotificationPreview] {
        var rules = NotificationRules()
        var rows: [NotificationPreview] = []
        for decision in rules.decide(event, customers: [customer], now: now) {
            guard let channel = decision.channel else {
                if case .skip(let reason) = decision.outcome { rows.append(NotificationPreview(channel: "-", outcome: "skip: \(reason.rawValue)")) }
                continue
            }
            switch decision.outcome {
            case .skip(let reason):
                rows.append(NotificationPreview(channel: channel.rawValue, outcome: "skip: \(reason.rawValue)"))
            case .send(let notBefore):
                guard let content = try renderer.render(event, for: customer, channel: channel) else {
                    rows.append(NotificationPreview(channel: channel.rawValue, outcome: "skip: \(SkipReason.noTemplate.rawValue)"))
                    continue
                }
                let when = notBefore.map { "deferred by quiet hours until \(formatTime($0))" } ?? "send now"
                rows.append(NotificationPreview(channel: channel.rawValue, outcome: when, address: customer.preference(for: channel)?.address.value,
                                                lane: Topics.jobs(channel, event.priority).rawValue, rendered: describe(content)))
            }
        }
        return rows
    }

    public init(channel: String, outcome: String, address: String? = nil, lane: String? = nil, rendered: String? = nil) {
        self.channel = channel
        self.outcome = outcome
        self.address = address
        self.lane = lane
        self.rendered = rendered
    }
}
