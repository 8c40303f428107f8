import ChaparModels
import Foundation
import Testing

@Suite("Topic and group names")
struct NameTests {
    @Test("legal names", arguments: ["transactions", "notify.sms", "a", "A-Z_0.9", "_single", "x__y", String(repeating: "n", count: 200)])
    func legal(_ name: String) throws {
        #expect(TopicName.problem(with: name) == nil)
        #expect(try TopicName(name).rawValue == name)
        #expect(try GroupID(name).rawValue == name)
    }

    @Test("illegal names throw invalidArgument", arguments: [
        "", String(repeating: "n", count: 201), "__consumer_offsets", ".hidden", "a b", "a/b", "ä", "topic!", "سلام", "tab\t", "..",
    ])
    func illegal(_ name: String) {
        #expect(TopicName.problem(with: name) != nil)
        #expect(throws: LogError.self) { try TopicName(name) }
        do {
            _ = try TopicName(name)
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("invalid topic name"))
        }
        do {
            _ = try GroupID(name)
            Issue.record("group '\(name)' accepted")
        } catch {
            #expect(error.code == .invalidArgument)
        }
    }

    @Test("names decode with validation and encode as plain strings")
    func codable() throws {
        let name: TopicName = "notify.sms"
        let data = try JSONEncoder().encode([name])
        #expect(String(decoding: data, as: UTF8.self) == #"["notify.sms"]"#)
        #expect(try JSONDecoder().decode([TopicName].self, from: data) == [name])
        #expect(throws: (any Error).self) { try JSONDecoder().decode([TopicName].self, from: Data(#"["__x"]"#.utf8)) }
        #expect(throws: (any Error).self) { try JSONDecoder().decode([GroupID].self, from: Data(#"["a b"]"#.utf8)) }
        #expect(try JSONDecoder().decode([GroupID].self, from: Data(#"["notifier"]"#.utf8)) == ["notifier"])
    }

    @Test("ordering of names and topic-partitions")
    func ordering() {
        let a: TopicName = "a", b: TopicName = "b"
        #expect(a < b)
        #expect(TopicPartition(a, PartitionID(9)) < TopicPartition(b, PartitionID(0)))
        #expect(TopicPartition(a, PartitionID(1)) < TopicPartition(a, PartitionID(2)))
        #expect(TopicPartition(a, PartitionID(3)).description == "a-3")
        #expect(MemberID("m1") < MemberID("m2"))
    }
}

@Suite("Primitive values")
struct PrimitiveTests {
    @Test func offsetsAndTimestamps() throws {
        #expect(Offset(5) + 3 == Offset(8))
        #expect(Offset(-1) < Offset(0))
        #expect(Timestamp(milliseconds: 1) < Timestamp(milliseconds: 2))
        let encoded = try JSONEncoder().encode([Offset(42)])
        #expect(String(decoding: encoded, as: UTF8.self) == "[42]")
        #expect(try JSONDecoder().decode([Offset].self, from: encoded) == [Offset(42)])
        #expect(try JSONDecoder().decode([PartitionID].self, from: Data("[3]".utf8)) == [PartitionID(3)])
        #expect(try JSONDecoder().decode([Timestamp].self, from: Data("[1790000000000]".utf8)) == [Timestamp(milliseconds: 1_790_000_000_000)])
    }

    @Test("Duration.milliseconds rounds down to whole milliseconds")
    func durationMilliseconds() {
        #expect(Duration.seconds(2).milliseconds == 2000)
        #expect(Duration.milliseconds(250).milliseconds == 250)
        #expect(Duration.microseconds(1999).milliseconds == 1)
        #expect(Duration.nanoseconds(999_999).milliseconds == 0)
        #expect(Duration.seconds(7 * 86_400).milliseconds == 604_800_000)
    }

    @Test("ProducerRecord string init stores UTF-8 bytes")
    func producerRecord() {
        let r = ProducerRecord(key: "حساب", value: "سلام", headers: [RecordHeader("trace", "x")])
        #expect(r.key == Array("حساب".utf8))
        #expect(r.value == Array("سلام".utf8))
        #expect(r.headers == [RecordHeader("trace", [0x78])])
        #expect(ProducerRecord(key: nil as String?, value: "").key == nil)
    }

    @Test("ConsumerRecord helpers decode UTF-8 and find headers")
    func consumerRecord() {
        let bytes = Array("کلید|مقدار".utf8)
        let split = bytes.firstIndex(of: UInt8(ascii: "|"))!
        let r = ConsumerRecord(topic: "t", partition: PartitionID(1), offset: Offset(7), timestamp: Timestamp(milliseconds: 9),
                               key: bytes[..<split], value: bytes[(split + 1)...],
                               headers: [RecordHeader("a", "1"), RecordHeader("a", "2")])
        #expect(r.keyString == "کلید")
        #expect(r.valueString == "مقدار")
        #expect(r.header("a") == Array("1".utf8))
        #expect(r.header("b") == nil)
        #expect(r.topicPartition == TopicPartition("t", PartitionID(1)))
    }

    @Test func descriptionTotals() {
        let d = TopicDescription(name: "t", configuration: TopicConfiguration(partitions: 2), partitions: [
            PartitionDescription(partition: PartitionID(0), startOffset: Offset(10), endOffset: Offset(15), bytes: 100, segments: 1),
            PartitionDescription(partition: PartitionID(1), startOffset: Offset(0), endOffset: Offset(3), bytes: 50, segments: 2),
        ])
        #expect(d.records == 8)
        #expect(d.bytes == 150)
    }
}

@Suite("LogError")
struct LogErrorTests {
    @Test("only disk-full, not-partition-owner and unavailable are retriable")
    func retriable() {
        for code in LogError.Code.allCases {
            let expected = code == .diskFull || code == .notPartitionOwner || code == .unavailable
            #expect(LogError(code, "x").isRetriable == expected, "\(code)")
        }
    }

    @Test("codes have stable documented raw values")
    func rawValues() {
        #expect(LogError.Code.unknownTopic.rawValue == "unknown-topic")
        #expect(LogError.Code.offsetOutOfRange.rawValue == "offset-out-of-range")
        #expect(LogError.Code.notPartitionOwner.rawValue == "not-partition-owner")
        #expect(LogError.Code.diskFull.rawValue == "disk-full")
        #expect(Set(LogError.Code.allCases.map(\.rawValue)).count == LogError.Code.allCases.count)
        #expect(LogError(.corrupt, "bad bytes").description == "bad bytes")
    }
}

@Suite("Durations and durability policies")
struct ConfigurationParsingTests {
    @Test("parseDuration accepts ms, s, m, h, d", arguments: [
        ("250ms", Int64(250)), ("0ms", 0), ("2s", 2000), ("5m", 300_000), ("12h", 43_200_000), ("7d", 604_800_000), ("5ms", 5),
    ])
    func parses(_ text: String, _ ms: Int64) {
        #expect(parseDuration(text) == .milliseconds(ms))
    }

    @Test("parseDuration rejects malformed text", arguments: ["", "ms", "5", "-5s", "1.5s", "5 s", "5S", "s5", "5min", "abc"])
    func rejects(_ text: String) {
        #expect(parseDuration(text) == nil)
    }

    @Test("parseDuration rejects values that overflow instead of trapping")
    func overflow() {
        #expect(parseDuration("9223372036854775807d") == nil)
        #expect(parseDuration("9223372036854775807s") == nil)
        #expect(parseDuration("9223372036854775807ms") == .milliseconds(Int64.max))
    }

    @Test("durability policies parse and print", arguments: [
        ("always", DurabilityPolicy.always), ("never", .never), ("interval", .interval(.seconds(1))),
        ("interval:250ms", .interval(.milliseconds(250))), ("interval:2s", .interval(.seconds(2))),
    ])
    func durability(_ text: String, _ policy: DurabilityPolicy) throws {
        #expect(try DurabilityPolicy(parsing: text) == policy)
        #expect(try DurabilityPolicy(parsing: policy.description) == policy)
    }

    @Test("bad durability policies throw invalidArgument", arguments: ["", "Always", "interval:", "interval:0ms", "interval:-1s", "interval:5", "sometimes"])
    func badDurability(_ text: String) {
        do {
            _ = try DurabilityPolicy(parsing: text)
            Issue.record("accepted '\(text)'")
        } catch {
            #expect(error.code == .invalidArgument)
        }
    }
}

@Suite("TopicConfiguration")
struct TopicConfigurationTests {
    @Test func defaultsAreValid() {
        let c = TopicConfiguration()
        #expect(c.problem == nil)
        #expect(c.partitions == 1)
        #expect(c.durability == .always)
        #expect(c.segmentBytes == 128 << 20)
        #expect(c.retentionAge == .seconds(7 * 86_400))
        #expect(c.retentionBytes == nil)
    }

    @Test("invalid settings are reported", arguments: [
        TopicConfiguration(partitions: 0), TopicConfiguration(partitions: 10_001), TopicConfiguration(segmentBytes: 1023),
        TopicConfiguration(segmentBytes: Int64(Int32.max) + 1), TopicConfiguration(segmentBytes: 8 << 30), TopicConfiguration(segmentMaxAge: .zero), TopicConfiguration(retentionAge: .seconds(-1)), TopicConfiguration(retentionBytes: -1),
        TopicConfiguration(indexIntervalBytes: 63), TopicConfiguration(maxBatchBytes: 1023), TopicConfiguration(maxBatchBytes: (256 << 20) + 1),
    ])
    func invalid(_ c: TopicConfiguration) {
        #expect(c.problem != nil)
    }

    @Test("boundary settings are accepted")
    func boundaries() {
        #expect(TopicConfiguration(partitions: 10_000, segmentBytes: 1024, retentionAge: nil, retentionBytes: 0, indexIntervalBytes: 64, maxBatchBytes: 1024).problem == nil)
        #expect(TopicConfiguration(maxBatchBytes: 256 << 20).problem == nil)
        #expect(TopicConfiguration(segmentBytes: Int64(Int32.max)).problem == nil)
    }

    @Test("JSON round trip keeps every field, durations as milliseconds")
    func codable() throws {
        for c in [
            TopicConfiguration(partitions: 6, durability: .interval(.milliseconds(250)), segmentBytes: 4096, segmentMaxAge: .seconds(3600),
                               retentionAge: nil, retentionBytes: 1 << 30, indexIntervalBytes: 128, maxBatchBytes: 2048),
            TopicConfiguration(),
        ] {
            let data = try JSONEncoder().encode(c)
            let back = try JSONDecoder().decode(TopicConfiguration.self, from: data)
            #expect(back == c)
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect((object["segmentMaxAgeMs"] as? NSNumber)?.int64Value == c.segmentMaxAge.milliseconds)
            #expect((object["retentionMs"] as? NSNumber)?.int64Value == c.retentionAge?.milliseconds)
            #expect(object["durability"] as? String == c.durability.description)
        }
    }
}
