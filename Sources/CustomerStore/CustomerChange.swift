public import ChaparModels

/// A partial change to one customer: what `chapar customers set` and `PATCH /v1/customers/{id}`
/// express. Applied inside one write transaction by ``CustomerStore/apply(_:to:)``: a change that
/// fails (an unknown channel to remove, settings for a channel the customer lacks) changes nothing.
///
/// Channel settings (`address`, `removeChannel`, minimums, quiet hours, event kinds) apply to
/// `channel`; without `channel`, minimums, quiet hours and event kinds apply to every channel the
/// customer has. `address` adds the channel when the customer has none.
public struct CustomerChange: Sendable, Hashable {
    public var name: String?
    public var language: Language?
    public var timeZone: String?
    public var birthday: CalendarDate?
    public var removeBirthday = false
    public var active: Bool?
    public var channel: Channel?
    public var address: ContactAddress?
    public var removeChannel = false
    /// Merged into the channel's minimums (a currency given again replaces its amount).
    public var minimumAmounts: [CurrencyCode: Int64] = [:]
    public var removeMinimumAmounts = false
    public var quietHours: QuietHours?
    public var removeQuietHours = false
    public var eventKinds: Set<EventKind>?

    public init() {}

    /// True when the change touches a channel's settings (not only the customer's own fields).
    var changesChannelSettings: Bool {
        !minimumAmounts.isEmpty || removeMinimumAmounts || quietHours != nil || removeQuietHours || eventKinds != nil
    }

    /// Edits `p` (the caller validates the result and stores it).
    public func apply(to p: inout CustomerProfile) throws(CustomerStoreError) {
        if let name { p.name = name }
        if let language { p.language = language }
        if let timeZone { p.timeZone = timeZone }
        if let birthday { p.birthday = birthday }
        if removeBirthday { p.birthday = nil }
        if let active { p.active = active }
        if let channel, removeChannel {
            guard p.preference(for: channel) != nil else {
                throw CustomerStoreError(.notFound, "customer \(p.id) has no \(channel) channel to remove")
            }
            p.channels.removeAll { $0.channel == channel }
            return
        }
        if let channel, let address {
            if let i = p.channels.firstIndex(where: { $0.channel == channel }) {
                p.channels[i].address = address
            } else {
                p.channels.append(ChannelPreference(channel: channel, address: address))
                p.channels.sort { $0.channel < $1.channel }
            }
        }
        guard changesChannelSettings else { return }
        let indices = p.channels.indices.filter { channel == nil || p.channels[$0].channel == channel }
        if indices.isEmpty {
            let what = channel.map { "no \($0) address; add one with --channel \($0) --address …" } ?? "no channels; add one with --channel C --address …"
            throw CustomerStoreError(.notFound, "customer \(p.id) has \(what)")
        }
        for i in indices {
            if removeMinimumAmounts { p.channels[i].minimumAmounts = [:] }
            p.channels[i].minimumAmounts.merge(minimumAmounts) { _, new in new }
            if let quietHours { p.channels[i].quietHours = quietHours }
            if removeQuietHours { p.channels[i].quietHours = nil }
            if let eventKinds { p.channels[i].eventKinds = eventKinds }
        }
    }
}

extension CustomerStore {
    /// Applies `change` to customer `id` in one write transaction; returns the stored profile.
    /// - Throws: `notFound` (no such customer, or a channel it lacks), `invalid` (the result fails validation).
    @discardableResult
    public func apply(_ change: CustomerChange, to id: CustomerID) throws -> CustomerProfile {
        try update(id) { profile in try change.apply(to: &profile) }
    }
}
