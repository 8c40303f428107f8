import Testing
@testable import Notifier

@Suite struct NotifierModulePlaceholder {
    @Test func moduleLinks() {}
}
