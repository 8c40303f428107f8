public import ChaparModels

/// What one batch of event records turned into.
public struct BatchOutcome: Sendable {
    /// The jobs, encoded and grouped by lane.
    public var jobs = JobRecords()
    /// Decisions that made no job, with the event they concern.
    public var skipped: [(event: EventID, decision: Decision)] = []
    /// Records that are not valid events: logged and counted, never retried (they stay in the log).
    public var invalid: [(position: RecordPosition, problem: String)] = []
    /// Events decoded (valid records).
    public var events = 0
}
