public import ChaparModels

/// Turns an event into the content one channel sends to one customer.
///
/// `MessageRenderer` (templates in `config/templates/`) is the implementation the product uses;
/// tests may supply their own.
public protocol NotificationRendering: Sendable {
    /// The rendered content, or nil when there is no template for this event on this channel
    /// (the notifier then skips the channel with reason `no-template`).
    func render(_ event: Event, for customer: CustomerProfile, channel: Channel) throws(NotifierError) -> RenderedContent?
}
