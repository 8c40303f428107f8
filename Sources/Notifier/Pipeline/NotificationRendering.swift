public import ChaparModels

/// Turns an event into the content each channel sends to one customer.
///
/// `MessageRenderer` (templates in `config/templates/`) is the implementation the product uses;
/// tests may supply their own, implementing ``render(_:for:channel:)`` alone.
public protocol NotificationRendering: Sendable {
    /// The rendered content, or nil when there is no template for this event on this channel
    /// (the notifier then skips the channel with reason `no-template`).
    func render(_ event: Event, for customer: CustomerProfile, channel: Channel) throws(NotifierError) -> RenderedContent?

    /// The same for several channels at once, in order (nil where there is no template).
    func render(_ event: Event, for customer: CustomerProfile, channels: [Channel]) throws(NotifierError) -> [RenderedContent?]

    /// The notifier's call: settles each of `sink`'s pending jobs for `event` and `customer` by
    /// writing its content or skipping it (``JobSink``). The records are the same bytes as
    /// encoding what ``render(_:for:channels:)`` returns, which is what the default does;
    /// `MessageRenderer` renders straight into the record instead.
    func writeJobs(_ event: Event, for customer: borrowing CustomerProfile, into sink: inout JobSink)
}

extension NotificationRendering {
    /// Several channels for one event and customer; renderers that can share work override it.
    public func render(_ event: Event, for customer: CustomerProfile, channels: [Channel]) throws(NotifierError) -> [RenderedContent?] {
        var out: [RenderedContent?] = []
        for channel in channels { out.append(try render(event, for: customer, channel: channel)) }
        return out
    }

    /// Renders all pending channels in one call and writes each content into its job.
    public func writeJobs(_ event: Event, for customer: borrowing CustomerProfile, into sink: inout JobSink) {
        let channels = sink.pending.map(\.channel)
        var contents: [RenderedContent?]
        do {
            contents = try render(event, for: customer, channels: channels)
        } catch {
            // One channel's template could not be rendered: render them one by one so the
            // others still go out, and name the channel that failed.
            contents = []
            for (index, channel) in channels.enumerated() {
                do {
                    contents.append(try render(event, for: customer, channel: channel))
                } catch {
                    sink.reportFailure(error, forJobAt: index)
                    contents.append(nil)
                }
            }
        }
        for (index, content) in zip(channels.indices, contents) {
            if let content {
                sink.write(content, forJobAt: index)
            } else {
                sink.skipJob(at: index)
            }
        }
    }
}
