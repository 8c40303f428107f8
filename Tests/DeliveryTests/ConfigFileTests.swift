import ChannelEmail
import ChannelFax
import ChannelIM
import ChannelSMS
import ChaparConfig
import ChaparModels
import Delivery
import Foundation
import Testing

/// The configuration file: every problem reported with FILE:LINE and key, all at once.
@Suite struct ConfigFileTests {
    let kinds = [KannelAdapter.kind, HTTPSMSAdapter.kind, MatrixAdapter.kind, TelegramAdapter.kind, WebhookAdapter.kind, SMTPAdapter.kind, HylaFAXAdapter.kind, HTTPFaxAdapter.kind, EmailFaxAdapter.kind]
    let env = ["PW": "secret-pw", "CB": "callback-secret-0123456789", "TG": "tok"]

    func parse(_ text: String) throws(ConfigError) -> ChaparConfiguration {
        try ConfigFile.parse(text, file: "c.yaml", environment: env, kinds: kinds)
    }

    func problems(_ text: String) -> [String] {
        do {
            _ = try parse(text)
            Issue.record("expected problems")
            return []
        } catch {
            return error.problems
        }
    }

    let valid = """
        callbacks:
          listen: 127.0.0.1:9001
          secret: {env: CB}
        delivery:
          lane-capacity: 50
        channels:
          sms:
            gateway: k1
          im:
            routes:
              telegram: tg
        gateways:
          k1:
            type: kannel
            url: http://127.0.0.1:13013/cgi-bin/sendsms
            username: u
            password: {env: PW}
            rate: 20/s
            burst: 5
            max-in-flight: 8
            timeout: 3s
            retry: {attempts: 4, backoff: 250ms}
            breaker: {failures: 2, open-for: 1m}
            failover: k2
          k2:
            type: http-sms
            url: http://127.0.0.1:9/sms
          tg:
            type: telegram
            url: http://127.0.0.1:9/telegram
            token: {env: TG}
        """

    @Test func aValidFileBuildsRoutesWithFailoverChainsAndControls() throws {
        let c = try parse(valid)
        #expect(c.callbacks?.port == 9001 && c.callbacks?.publicURL == "http://127.0.0.1:9001")
        #expect(c.pool.laneCapacity == 50)
        let sms = try #require(c.channels[.sms])
        #expect(sms.count == 1 && sms[0].scheme == nil)
        #expect(sms[0].chain.map(\.name) == ["k1", "k2"])
        let k1 = sms[0].chain[0].settings
        #expect(k1.rateLimit == .init(perSecond: 20, burst: 5))
        #expect(k1.maxInFlight == 8 && k1.timeouts.total == .seconds(3))
        #expect(k1.retry.maxAttempts == 4 && k1.retry.initialBackoff == .milliseconds(250))
        #expect(k1.breaker.failureThreshold == 2 && k1.breaker.openDuration == .seconds(60))
        #expect(c.channels[.im]?.first?.scheme == "telegram")
        // Secrets are shown by source, never by value.
        let shown = try #require(c.gateways.first { $0.settings.name == "k1" })
        #expect(shown.options["password"] == "<secret from env PW>")
        #expect(!c.gateways.flatMap(\.options.values).contains("secret-pw"))
    }

    @Test func everyProblemIsReportedAtItsLine() {
        let text = """
            channels:
              sms:
                gateway: k1
            gateways:
              k1:
                type: kannel
                url: ftp://127.0.0.1/x
                username: u
                password: plain-text
                retyr: {attempts: 3}
                failover: nowhere
              k2:
                type: carrier-pigeon
            """
        let p = problems(text)
        #expect(p.contains { $0.hasPrefix("c.yaml:9: gateways.k1.password:") && $0.contains("{env: VARIABLE}") })
        #expect(p.contains { $0.hasPrefix("c.yaml:10: gateways.k1.retyr:") && $0.contains("unknown key") })
        #expect(p.contains { $0.hasPrefix("c.yaml:13: gateways.k2.type:") && $0.contains("carrier-pigeon") })
        #expect(p.contains { $0.hasPrefix("c.yaml:3: channels.sms.gateway:") })
    }

    @Test func adapterProblemsPointAtTheOption() {
        let p = problems("""
            channels:
              sms: {gateway: s}
            gateways:
              s:
                type: http-sms
                url: not-a-url
            """)
        #expect(p.contains { $0.hasPrefix("c.yaml:6: gateways.s.url:") && $0.contains("not an http") })
    }

    @Test func failoverLoopsAndCrossChannelFailoversAreRefused() {
        let p = problems("""
            channels:
              sms: {gateway: a}
            gateways:
              a: {type: http-sms, url: "http://127.0.0.1:1/a", failover: b}
              b: {type: http-sms, url: "http://127.0.0.1:1/b", failover: a}
              t: {type: telegram, url: "http://127.0.0.1:1/t", token: {env: TG}, failover: a}
            """)
        #expect(p.contains { $0.contains("gateways.a.failover") && $0.contains("loop") })
        #expect(p.contains { $0.contains("gateways.t.failover") && $0.contains("same channel") })
    }

    @Test func missingSecretsAndBadValuesAreNamed() {
        let p = problems("""
            callbacks:
              listen: localhost
              secret: {env: NOT_SET}
            delivery:
              lane-capacity: 0
              commit-interval: soon
            """)
        #expect(p.contains { $0.hasPrefix("c.yaml:2: callbacks.listen:") })
        #expect(p.contains { $0.hasPrefix("c.yaml:3: callbacks.secret:") && $0.contains("NOT_SET") })
        #expect(p.contains { $0.hasPrefix("c.yaml:5: delivery.lane-capacity:") })
        #expect(p.contains { $0.hasPrefix("c.yaml:6: delivery.commit-interval:") && $0.contains("duration") })
    }

    @Test func invalidYAMLNamesItsLine() {
        let p = problems("channels:\n  sms: [unclosed\ngateways: {}\n")
        #expect(p.count == 1 && p[0].hasPrefix("c.yaml:") && p[0].contains("not valid YAML"))
    }

    @Test func secretsComeFromFiles() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("chapar-secret-\(UUID().uuidString)").path
        try "from-a-file\nignored\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let c = try parse("""
            channels:
              sms: {gateway: s}
            gateways:
              s: {type: http-sms, url: "http://127.0.0.1:1/s", authorization: {file: \(file)}}
            """)
        #expect(c.gateways[0].options["authorization"] == "<secret from file \(file)>")
    }

    @Test func theShippedExampleIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let env = ["CHAPAR_API_TOKEN": "0123456789abcdef0", "CHAPAR_CALLBACK_SECRET": "0123456789abcdef0", "KANNEL_PASSWORD": "p", "SMS_API_AUTHORIZATION": "Bearer x",
                   "TELEGRAM_BOT_TOKEN": "t", "MATRIX_BOT_TOKEN": "m", "WEBHOOK_SECRET": "0123456789abcdef0", "SMTP_PASSWORD": "s",
                   "FAX_API_AUTHORIZATION": "Bearer f"]
        let c = try ConfigFile.load(path: root.appendingPathComponent("config/chapar.yaml").path, environment: env, kinds: kinds)
        #expect(c.channels[.sms]?.first?.chain.map(\.name) == ["kannel-1", "sms-api"])
        #expect(c.channels[.im]?.count == 3)
        #expect(c.channels[.email]?.first?.chain.map(\.name) == ["mail-relay"])
        #expect(c.channels[.fax]?.first?.chain.map(\.name) == ["hylafax", "fax-api"])
        #expect(c.server.port == 8480 && c.server.tokens == ["0123456789abcdef0"])
        // Callbacks without their own listen are answered where the server listens.
        #expect(c.callbacks?.publicURL == "http://127.0.0.1:8480")
    }

    @Test func theKafkaBackendIsReadWithSecretPropertiesAndCheckedAtItsLines() throws {
        let c = try parse("""
            log:
              backend: kafka
              kafka:
                bootstrap: 127.0.0.1:9092, 127.0.0.1:9093
                client-id: node-1
                replication-factor: 3
                session-timeout: 10s
                properties:
                  security.protocol: SASL_SSL
                  sasl.password: {env: PW}
            """)
        guard case .kafka(let k) = c.backend else {
            Issue.record("expected the Kafka backend")
            return
        }
        #expect(k.bootstrapServers == "127.0.0.1:9092,127.0.0.1:9093")
        #expect(k.clientID == "node-1" && k.replicationFactor == 3 && k.sessionTimeout == .seconds(10))
        #expect(k.properties == ["security.protocol": "SASL_SSL", "sasl.password": "secret-pw"])
        #expect(k.propertySources["sasl.password"] == "env PW")
        if case .embedded = try parse("log: {partitions: 2}").backend {} else { Issue.record("embedded is the default") }
        let perTopic = try parse("log: {partitions: 2, topic-partitions: {transactions: 16, notify.sms: 32}}")
        #expect(perTopic.topicPartitions == ["transactions": 16, "notify.sms": 32])
        let typo = problems("log: {topic-partitions: {transaction: 16}}")
        #expect(typo.count == 1 && typo[0].contains("log.topic-partitions.transaction: unknown key"), "\(typo)")

        let found = problems("""
            log:
              backend: kafkaa
            """)
        #expect(found == ["c.yaml:2: log.backend: 'kafkaa' is not embedded or kafka"])
        let more = problems("""
            log:
              backend: kafka
              kafka:
                bootstrap: not-a-host-port
                session-timeout: 0s
                properties:
                  sasl.password: hunter2
            """)
        #expect(more.contains("c.yaml:4: log.kafka.bootstrap: 'not-a-host-port' is not HOST:PORT[,HOST:PORT…]"), "\(more)")
        #expect(more.contains { $0.hasPrefix("c.yaml:5: log.kafka.session-timeout:") }, "\(more)")
        #expect(more.contains { $0.hasPrefix("c.yaml:7: log.kafka.properties.sasl.password: secrets are never written in the file") }, "\(more)")
        #expect(!more.joined().contains("hunter2"))
        let missing = problems("""
            log:
              backend: kafka
            """)
        #expect(missing.count == 1 && missing[0].contains("log.kafka: `backend: kafka` needs log.kafka.bootstrap"), "\(missing)")
    }

    @Test func serverNotifierAndLogSectionsAreReadAndChecked() throws {
        let c = try ConfigFile.parse("""
            server: {listen: "0.0.0.0:9000", tokens: [{env: T1}, {env: T2}], max-body: 2MiB}
            notifier: {members: 2, batch-size: 500}
            log: {partitions: 3, fsync: "interval:100ms", retention: forever, segment-bytes: 1MiB}
            """, file: "c.yaml", environment: ["T1": "token-number-one-16", "T2": "token-number-two-16"], kinds: kinds)
        #expect(c.server.host == "0.0.0.0" && c.server.port == 9000 && c.server.maxBodyBytes == 2 << 20)
        #expect(c.server.tokens.count == 2 && c.server.tokenSources == ["env T1", "env T2"])
        #expect(c.notifier.members == 2 && c.notifier.batchSize == 500)
        #expect(c.topics.partitions == 3 && c.topics.durability == .interval(.milliseconds(100)) && c.topics.retentionAge == nil)
        #expect(c.topics.segmentBytes == 1 << 20)

        let bad = """
            server: {listen: "nowhere", tokens: [{env: SHORT}], max-body: 12 parsecs}
            notifier: {members: 0, templates: /no/such/dir}
            log: {fsync: sometimes, retention: soon}
            """
        let error = #expect(throws: ConfigError.self) {
            try ConfigFile.parse(bad, file: "bad.yaml", environment: ["SHORT": "abc"], kinds: kinds)
        }
        let problems = error?.problems ?? []
        for key in ["server.listen", "server.tokens[0]", "server.max-body", "notifier.members", "notifier.templates", "log.fsync", "log.retention"] {
            #expect(problems.contains { $0.hasPrefix("bad.yaml:") && $0.contains(" \(key): ") }, "no problem reported for \(key): \(problems)")
        }
    }
}
