public import ChaparModels

/// The product renderer is the pipeline's renderer.
extension MessageRenderer: NotificationRendering {
    /// Renders each pending job straight into its record (no `RenderedContent`, no `String` per
    /// part): the templates a batch uses are resolved once, and the customer's jobs share one scope,
    /// so each value (an amount, a Jalali date) is formatted once for all their channels. The
    /// records are the same bytes as the protocol's default gives (tested on every shipped template).
    public func writeJobs(_ event: Event, for customer: borrowing CustomerProfile, into sink: inout JobSink) {
        sink.workspace.memo.reset()
        // The templates first: a channel without one (or whose template cannot serve this event)
        // is skipped, and without any template the scope is not needed.
        sink.workspace.templates.removeAll(keepingCapacity: true)
        var anyTemplate = false
        for (index, job) in sink.pending.enumerated() {
            do {
                let template = try jobTemplate(event, channel: job.channel, language: customer.language, &sink.workspace)
                sink.workspace.templates.append(template)
                anyTemplate = anyTemplate || template != nil
            } catch {
                sink.reportFailure(error, forJobAt: index)
                sink.workspace.templates.append(nil)
            }
        }
        guard anyTemplate else {
            for index in sink.pending.indices { sink.skipJob(at: index) }
            return
        }
        // One scope for the customer, borrowed by every job (a copy per job showed in profiles).
        let scope: RenderScope
        do {
            scope = try makeScope(event, customer)
        } catch {
            for index in sink.pending.indices {
                if sink.workspace.templates[index] != nil { sink.reportFailure(error, forJobAt: index) }
                sink.skipJob(at: index)
            }
            return
        }
        for index in sink.pending.indices {
            guard let template = sink.workspace.templates[index] else {
                sink.skipJob(at: index)
                continue
            }
            sink.beginJob(at: index)
            writeContent(template, scope: scope, &sink.workspace, into: &sink.writer.json)
            sink.finishJob(at: index)
        }
    }
}
