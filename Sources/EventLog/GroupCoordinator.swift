import ChaparModels
import Logging
import Synchronization

/// Runs one group's ``GroupState`` for the members in this process and wakes them when the
/// assignment changes.
final class GroupCoordinator: Sendable {
    let group: GroupID
    let state: Mutex<GroupState>
    let signal = ChangeSignal()
    let logger: Logger

    init(group: GroupID, strategy: AssignmentStrategy, sessionTimeout: Duration, logger: Logger) {
        self.group = group
        state = Mutex(GroupState(strategy: strategy, sessionTimeout: sessionTimeout))
        self.logger = logger
    }

    func join(_ id: MemberID, topics: Set<TopicName>, clientID: String, partitions: [TopicName: Int]) {
        let now = monotonicNanos()
        let generation = state.withLock { s -> Int in
            _ = s.expire(now: now)
            s.join(id, topics: topics, clientID: clientID, partitions: partitions, now: now)
            return s.generation
        }
        logger.info("member joined group", metadata: ["chapar.group": "\(group)", "chapar.member": "\(id)", "chapar.generation": "\(generation)"])
        signal.bump()
    }

    func leave(_ id: MemberID) {
        let left = state.withLock { s -> Bool in
            let was = s.members[id] != nil
            s.leave(id)
            return was
        }
        if left {
            logger.info("member left group", metadata: ["chapar.group": "\(group)", "chapar.member": "\(id)"])
            signal.bump()
        }
    }

    func sync(_ id: MemberID) -> (GroupState.SyncResult?, UInt64) {
        let now = monotonicNanos()
        let version = signal.version
        let (result, expired) = state.withLock { s in
            // The caller is alive right now: refresh it first, so that a member returning from a long
            // batch is never expired by its own poll (only others' silence expires members).
            s.touch(id, now: now)
            let expired = s.expire(now: now)
            return (s.sync(id, now: now), expired)
        }
        if !expired.isEmpty {
            logger.warning("members expired after missing their session timeout", metadata: ["chapar.group": "\(group)", "chapar.members": "\(expired)"])
            signal.bump()
        }
        if let r = result, !r.revoked.isEmpty { signal.bump() }  // freed partitions: wake the new owners
        return (result, version)
    }

    var isEmpty: Bool { state.withLock { $0.members.isEmpty } }
}
