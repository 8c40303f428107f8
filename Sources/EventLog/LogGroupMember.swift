import ChaparModels
import Logging
import Synchronization

/// A member of a consumer group on the embedded log. See ``GroupMember`` for the contract.
final class LogGroupMember: GroupMember {
    let group: GroupID
    let memberID: MemberID
    let options: GroupOptions
    let log: EventLog
    let coordinator: GroupCoordinator
    /// Next offset to fetch per owned partition.
    private let positions = Mutex<[TopicPartition: Int64]>([:])
    private let left = Mutex(false)
    private let rotation = Mutex(0)

    init(group: GroupID, memberID: MemberID, options: GroupOptions, log: EventLog, coordinator: GroupCoordinator) {
        self.group = group
        self.memberID = memberID
        self.options = options
        self.log = log
        self.coordinator = coordinator
    }

    deinit {
        // A member dropped without leave() must not keep its partitions until it times out.
        coordinator.leave(memberID)
    }

    private func syncAssignment() throws(LogError) -> ([TopicPartition], UInt64) {
        let (result, version) = coordinator.sync(memberID)
        guard let result else {
            throw LogError(.notMember, "member \(memberID) is no longer in group \(group) (it left or missed its session timeout); join again")
        }
        let committed = log.offsets.committed(group)
        var starts: [TopicPartition: Int64] = [:]
        for tp in result.granted {
            if let c = committed[tp] {
                starts[tp] = c
            } else if let partition = try? log.partition(tp) {
                starts[tp] = options.startPosition == .earliest ? partition.logStartOffset : partition.highWatermark
            }
        }
        positions.withLock { p in
            for tp in result.revoked { p[tp] = nil }
            for (tp, o) in starts { p[tp] = o }
        }
        return (result.owned, version)
    }

    func poll(maxRecords: Int, timeout: Duration) async throws -> [ConsumerRecord] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            if left.withLock({ $0 }) { throw LogError(.notMember, "member \(memberID) has left group \(group)") }
            let (owned, groupVersion) = try syncAssignment()
            var records: [ConsumerRecord] = []
            var repositioned = false
            var watch: [(ChangeSignal, UInt64)] = [(coordinator.signal, groupVersion)]
            let start = rotation.withLock { r in
                defer { r &+= 1 }
                return r
            }
            for i in 0..<owned.count where records.count < maxRecords {
                let tp = owned[(start + i) % owned.count]
                let partition = try log.partition(tp)
                watch.append((partition.signal, partition.signal.version))
                guard let position = positions.withLock({ $0[tp] }) else { continue }
                let result: FetchResult
                switch readResult(partition, from: position, maxRecords: maxRecords - records.count) {
                case .success(let r):
                    result = r
                case .failure(let error) where error.code == .offsetOutOfRange:
                    let reset = position < partition.logStartOffset ? partition.logStartOffset : partition.highWatermark
                    log.logger.warning("group position out of range; reset", metadata: [
                        "chapar.group": "\(group)", "chapar.partition": "\(tp)", "chapar.offset": "\(position)", "chapar.reset": "\(reset)"])
                    positions.withLock { $0[tp] = reset }
                    repositioned = true
                    continue
                case .failure(let error):
                    throw error
                }
                if !result.records.isEmpty {
                    records.append(contentsOf: result.records)
                    positions.withLock { $0[tp] = result.nextOffset.rawValue }
                }
            }
            if !records.isEmpty { return records }
            // A position was just reset: read from it now rather than waiting for the next change.
            if repositioned { continue }
            let now = clock.now
            if now >= deadline || Task.isCancelled { return [] }
            await waitForChange(watch, timeout: now.duration(to: deadline))
        }
    }

    private func readResult(_ partition: PartitionLog, from position: Int64, maxRecords: Int) -> Result<FetchResult, LogError> {
        do throws(LogError) {
            return .success(try partition.read(from: position, maxRecords: maxRecords, maxBytes: 1 << 20))
        } catch {
            return .failure(error)
        }
    }

    func assignment() async -> [TopicPartition] {
        coordinator.state.withLock { s in s.owners.filter { $0.value == memberID }.map(\.key).sorted() }
    }

    func commit(_ offsets: [TopicPartition: Offset]) async throws {
        guard !offsets.isEmpty else { return }
        for (tp, o) in offsets where o.rawValue < 0 {
            throw LogError(.invalidArgument, "cannot commit negative offset \(o) for \(tp)")
        }
        // Checked now (a clear error without a trip to the executor) and again under the offset
        // store's write lock, where a rebalance since then is caught before anything is written.
        let coordinator = coordinator, memberID = memberID, group = group, partitions = Array(offsets.keys)
        let stillOwned: @Sendable () -> LogError? = {
            coordinator.state.withLock { $0.owns(memberID, partitions) }.map { notOwned in
                LogError(.notPartitionOwner, "member \(memberID) of group \(group) no longer owns \(notOwned) (it was reassigned in a rebalance); its uncommitted records will be delivered to the new owner")
            }
        }
        if let refused = stillOwned() { throw refused }
        let raw = offsets.mapValues(\.rawValue)
        let store = log.offsets
        try await log.executor.run { try store.commit(group, raw, fence: stillOwned) }
    }

    func commitPolled() async throws {
        let (isMember, owned) = coordinator.state.withLock { s in
            (s.members[memberID] != nil, Set(s.owners.filter { $0.value == memberID }.map(\.key)))
        }
        guard isMember else {
            throw LogError(.notMember, "member \(memberID) of group \(group) was expired (it missed its session timeout); its uncommitted records go to the remaining members; join again")
        }
        let current = positions.withLock { $0 }
        // A polled partition that is no longer ours was taken by an expiry: committing the rest and
        // reporting success would hide that another member is now processing the same records.
        if let lost = current.keys.sorted().first(where: { !owned.contains($0) }) {
            throw LogError(.notPartitionOwner, "member \(memberID) of group \(group) no longer owns \(lost) (it was reassigned after a session timeout); its uncommitted records will be delivered to the new owner")
        }
        let committed = log.offsets.committed(group)
        let changed = current.filter { committed[$0.key] != $0.value }
        try await commit(changed.mapValues { Offset($0) })
    }

    func seek(_ partition: TopicPartition, to offset: Offset) async throws {
        guard coordinator.state.withLock({ $0.owners[partition] == memberID }) else {
            throw LogError(.notPartitionOwner, "member \(memberID) does not own \(partition); seek only partitions in assignment()")
        }
        guard offset.rawValue >= 0 else { throw LogError(.invalidArgument, "offsets are never negative (got \(offset))") }
        positions.withLock { $0[partition] = offset.rawValue }
    }

    func leave() async {
        left.withLock { $0 = true }
        coordinator.leave(memberID)
    }
}
