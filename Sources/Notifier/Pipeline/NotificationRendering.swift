public import ChaparModels

/// Turns an event into the content one channel sends to one customer.
///
/// `MessageRenderer` (templates in `config/templates/`) is the implementation the product uses;
/// tests may supply their own.
public protocol NotificationRendering: Sendable {
    /// The rendered content, or nil when there is no template for this event on this channel
    /// (the notifier then skips the channel with reason `no-template`).
    func render(_ event: Event, for customer: CustomerProfile, channel: Channel) throws(NotifierError) -> RenderedContent?

    /// The same for several channels at once, in order (nil where there is no template).
    func render(_ event: Event, for customer: CustomerProfile, channels: [Channel]) throws(NotifierError) -> [RenderedContent?]
}

extension NotificationRendering {
    /// Several channels for one event and customer; renderers that can share work override it.
    public func render(_ event: Event, for customer: CustomerProfile, channels: [Channel]) throws(NotifierError) -> [RenderedContent?] {
        var out: [RenderedContent?] = []
        for channel in channels { out.append(try render(event, for: customer, channel: channel)) }
        return out
    }
}
