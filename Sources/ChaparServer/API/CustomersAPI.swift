import ChaparConfig
import ChaparModels
import CustomerStore
import Foundation
import Hummingbird

/// Customers and their channels over HTTP, with the CLI's rules (the same ``CustomerStore``
/// calls, each one transaction: a refused change changes nothing). A change reaches the running
/// notifier within about a second (its cache polls the store).
struct CustomersAPI: Sendable {
    let state: ServerState

    static let documentFields: [String: Set<String>] = [
        "": ["id", "name", "language", "timezone", "birthday", "active", "accounts", "channels"],
        "channels": ["channel", "address", "enabled", "events", "minAmounts", "quietHours"],
    ]

    func add(to group: RouterGroup<BasicRequestContext>) {
        group.get("customers") { request, _ in try await self.list(request) }
        group.post("customers") { request, _ in try await self.create(request) }
        group.get("customers/:id") { _, context in try await self.show(try Self.customerID(context)) }
        group.put("customers/:id") { request, context in try await self.replace(request, id: try Self.customerID(context)) }
        group.patch("customers/:id") { request, context in try await self.change(request, id: try Self.customerID(context)) }
        group.delete("customers/:id") { _, context in try await self.remove(try Self.customerID(context)) }
        group.post("customers/:id/channels/:channel/enable") { _, context in
            try await self.setEnabled(true, id: try Self.customerID(context), channel: try Self.channel(context))
        }
        group.post("customers/:id/channels/:channel/disable") { _, context in
            try await self.setEnabled(false, id: try Self.customerID(context), channel: try Self.channel(context))
        }
    }

    func list(_ request: Request) async throws -> Response {
        let limit = try request.query("limit", default: 100, range: 1...1000)
        var filter = CustomerFilter()
        if let a = request.query("account") {
            do { filter.account = try AccountID(a) } catch { throw APIError.badRequest("account: \(error.reason)") }
        }
        let store = state.store
        let (profiles, total) = try await perform("list customers") { [filter] () throws -> ([CustomerProfile], Int) in
            var found: [CustomerProfile] = []
            try store.forEachCustomer(filter) { p in if found.count < limit { found.append(p) } }
            return (found, try store.count())
        }
        struct Listing: Encodable {
            var customers: [CustomerDocument]
            var total: Int
        }
        return try JSON.response(Listing(customers: profiles.map(CustomerDocument.init), total: total))
    }

    func show(_ id: CustomerID) async throws -> Response {
        let store = state.store
        guard let profile = try await perform("read customer", { try store.customer(id) }) else {
            throw APIError.notFound("no customer \(id)")
        }
        return try JSON.response(CustomerDocument(profile))
    }

    func create(_ request: Request) async throws -> Response {
        let profile = try await document(request)
        let store = state.store
        try await perform("add customer") { try store.add(profile) }
        try await share(profile)
        return try JSON.response(CustomerDocument(profile), status: .created)
    }

    func replace(_ request: Request, id: CustomerID) async throws -> Response {
        let profile = try await document(request)
        guard profile.id == id else { throw APIError.badRequest("the body's id \(profile.id) is not the path's \(id)") }
        let store = state.store
        try await perform("save customer") { try store.save(profile) }
        try await share(profile)
        return try JSON.response(CustomerDocument(profile))
    }

    /// The body of `PATCH /v1/customers/{id}`: the options of `chapar customers set`.
    struct Patch: Decodable {
        var name: String?
        var language: String?
        var timezone: String?
        var birthday: String?
        var removeBirthday: Bool?
        var active: Bool?
        var channel: String?
        var address: String?
        var removeChannel: Bool?
        var minAmounts: [String: String]?
        var removeMinAmounts: Bool?
        var quietHours: String?
        var removeQuietHours: Bool?
        var events: [String]?

        static let fields: Set<String> = ["name", "language", "timezone", "birthday", "removeBirthday", "active", "channel", "address",
                                          "removeChannel", "minAmounts", "removeMinAmounts", "quietHours", "removeQuietHours", "events"]

        func change() throws(InvalidValue) -> CustomerChange {
            var c = CustomerChange()
            c.name = name
            if let language { c.language = try Language(parsing: language) }
            if let timezone {
                try CustomerStore.validateTimeZone(timezone)
                c.timeZone = timezone
            }
            if let birthday { c.birthday = try CalendarDate(iso: birthday) }
            c.removeBirthday = removeBirthday ?? false
            c.active = active
            if let channel { c.channel = try Channel(parsing: channel) }
            if let address {
                guard let channel = c.channel else { throw InvalidValue("address", "give the channel it is for, e.g. \"channel\": \"sms\"") }
                c.address = try ContactAddress(channel, address)
            }
            c.removeChannel = removeChannel ?? false
            if c.removeChannel && c.channel == nil { throw InvalidValue("removeChannel", "give the channel to remove") }
            if let minAmounts { c.minimumAmounts = try CustomerDocument.minimums(minAmounts, field: "minAmounts") }
            c.removeMinimumAmounts = removeMinAmounts ?? false
            if let quietHours { c.quietHours = try QuietHours(parsing: quietHours) }
            c.removeQuietHours = removeQuietHours ?? false
            if let events { c.eventKinds = try CustomerCSV.parseEvents(events.joined(separator: ";")) }
            return c
        }
    }

    func change(_ request: Request, id: CustomerID) async throws -> Response {
        let body = try await JSON.body(request, limit: 64 << 10)
        let patch = try JSON.decode(Patch.self, from: body, allowed: ["": Patch.fields])
        let change: CustomerChange
        do { change = try patch.change() } catch { throw APIError(.unprocessableContent, "invalid_change", "\(error.field): \(error.reason)") }
        let store = state.store
        let profile = try await perform("change customer") { try store.apply(change, to: id) }
        try await share(profile)
        return try JSON.response(CustomerDocument(profile))
    }

    func remove(_ id: CustomerID) async throws -> Response {
        let store = state.store
        try await perform("remove customer") { try store.remove(id) }
        if let sync = state.customerSync {
            do { try await sync.removed(id) } catch { throw Self.notShared(error) }
        }
        return Response(status: .noContent)
    }

    func setEnabled(_ on: Bool, id: CustomerID, channel: Channel) async throws -> Response {
        let store = state.store
        let profile = try await perform("change customer") { try store.setEnabled(on, customer: id, channels: [channel]) }
        try await share(profile)
        return try JSON.response(CustomerDocument(profile))
    }

    /// On the Kafka backend, appends the customer as it now is to `chapar.customers`, so every
    /// node applies it (``CustomerSync``). Without that, the change stays on this node: the caller
    /// gets 503 and repeats the request (a PUT, PATCH or enable/disable gives the same result again).
    private func share(_ profile: CustomerProfile) async throws {
        guard let sync = state.customerSync else { return }
        do { try await sync.published(profile) } catch { throw Self.notShared(error) }
    }

    private static func notShared(_ error: any Error) -> APIError {
        APIError(.serviceUnavailable, "not_shared",
                 "the change was stored on this node but could not be shared with the other nodes (\(error)); repeat the request once the log is available")
    }

    private func document(_ request: Request) async throws -> CustomerProfile {
        let body = try await JSON.body(request, limit: 1 << 20)
        let document = try JSON.decode(CustomerDocument.self, from: body, allowed: Self.documentFields)
        do {
            return try document.profile()
        } catch {
            throw APIError(.unprocessableContent, "invalid_customer", "\(error.field): \(error.reason)")
        }
    }

    /// Runs a store call off the cooperative pool and maps its errors onto statuses.
    private func perform<T: Sendable>(_ call: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await Blocking.run(body)
        } catch let error as CustomerStoreError {
            switch error.code {
            case .notFound: throw APIError(.notFound, "not_found", error.description)
            case .invalid: throw APIError(.unprocessableContent, "invalid_customer", error.description)
            case .exists: throw APIError(.conflict, "exists", error.description)
            case .busy: throw APIError(.serviceUnavailable, "busy", "\(error.description); try again")
            case .storage: throw APIError(.internalServerError, "storage", error.description)
            }
        }
    }

    static func customerID(_ context: BasicRequestContext) throws -> CustomerID {
        let text = context.parameters.get("id") ?? ""
        do { return try CustomerID(text) } catch { throw APIError.badRequest("'\(text)' is not a customer id: \(error.reason)") }
    }

    static func channel(_ context: BasicRequestContext) throws -> Channel {
        let text = context.parameters.get("channel") ?? ""
        do { return try Channel(parsing: text) } catch { throw APIError.badRequest("channel: \(error.reason)") }
    }
}
