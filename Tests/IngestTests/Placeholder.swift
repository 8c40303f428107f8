import Testing
@testable import Ingest

@Suite struct IngestModulePlaceholder {
    @Test func moduleLinks() {}
}
