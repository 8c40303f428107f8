import Testing
@testable import CustomerStore

@Suite struct CustomerStoreModulePlaceholder {
    @Test func moduleLinks() {}
}
