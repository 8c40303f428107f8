import Foundation
import Testing
@testable import Ingest

/// `--format auto`: extension first, then content sniffing.
@Suite struct InputFormatTests {
    @Test func xmlThatIsNotCamt054IsRefused() {
        #expect(throws: IngestError.self) { try InputFormat.sniff(Array("<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09\">".utf8), name: "x.xml") }
    }

    @Test(arguments: [
        ("<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\">", InputFormat.camt054),
        ("{1:F01BANKIRTHAXXX0000000000}{2:I940}{4:\n:20:STMT\n", .mt940),
        (":20:REF123\r\n:25:IR490170000000000000000002\r\n", .mt940),
        ("\u{FEFF}{\"account\":\"IR82\"}\n", .jsonl),
        ("id,account,direction\n", .csv),
        ("", .csv),
    ])
    func sniffing(head: String, expected: InputFormat) throws {
        #expect(try InputFormat.sniff(Array(head.utf8), name: "f") == expected)
    }

    @Test func extensionsWinAndUnknownNamesAreSniffed() throws {
        let dir = Fixture.directory("format")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try InputFormat.detect(path: Fixture.file(dir, "a.CSV", "{")) == .csv)
        #expect(try InputFormat.detect(path: Fixture.file(dir, "a.ndjson", "x")) == .jsonl)
        #expect(try InputFormat.detect(path: Fixture.file(dir, "a.sta", "x")) == .mt940)
        #expect(try InputFormat.detect(path: Fixture.file(dir, "a.txt", "{\"a\":1}")) == .jsonl)
        #expect(throws: IngestError.self) { try InputFormat.detect(path: dir + "/missing.txt") }
    }

    @Test func formatNamesAndNotYetAvailableFormatsGiveClearErrors() throws {
        #expect(try InputFormat(parsing: "MT942") == .mt940)
        #expect(try InputFormat(parsing: "ndjson") == .jsonl)
        #expect(throws: IngestError.self) { try InputFormat(parsing: "xls") }
        let dir = Fixture.directory("format")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Fixture.file(dir, "a.csv", "a,b\n")
        #expect(throws: Never.self) { _ = try InputFormat.auto.makeParser(path: path, displayName: "a.csv", options: ParserOptions()) }
    }

    /// One rule for every format, detected or named: an empty file is refused as empty (exit 65),
    /// and a file with NUL bytes is refused as not text, whatever its name says.
    @Test(arguments: ["x.csv", "x.jsonl", "x.xml", "x.sta", "x.txt"])
    func emptyAndBinaryFilesAreRefusedAlikeInEveryFormat(_ name: String) throws {
        let dir = Fixture.directory("format")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (content, expected) in [("", "the file is empty"), ("\u{FEFF}\n \r\n", "the file is empty"),
                                    (String(repeating: "\0", count: 100_000), "is not a text file (a NUL byte at offset 0)")] {
            let path = Fixture.file(dir, name, content)
            for format in [InputFormat.auto, .csv, .jsonl, .camt054, .mt940] {
                #expect {
                    _ = try format.makeParser(path: path, displayName: name, options: ParserOptions())
                } throws: { error in
                    guard let error = error as? IngestError else { return false }
                    return error.code == .invalidFormat && error.message.contains(expected) && error.message.count < 400
                }
            }
        }
    }

    /// A message quoting a huge or unprintable piece of input stays short and printable.
    @Test func errorMessagesAreBoundedAndEscaped() {
        let message = ErrorText.bounded("unknown column '" + String(repeating: "\u{1B}", count: 100_000) + "'")
        #expect(message.count < ErrorText.limit + 60)
        #expect(message.hasPrefix("unknown column '\\u{1B}\\u{1B}"))
        #expect(message.hasSuffix("more characters cut)"))
        #expect(ErrorText.bounded("a\tb\nc") == "a\tb\nc")
        #expect(IngestError(.invalidFormat, "bad '\u{0}'").message == "bad '\\0'")
    }
}
