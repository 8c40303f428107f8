import ChaparModels

/// An error the CLI knows how to report: one line on stderr and a documented exit code.
///
/// Each module's error type conforms in the file of the command that uses it, so the mapping to
/// exit codes (64 usage, 65 invalid data, 66 not found, 73 exists, 74 storage, 75 temporary)
/// lives in the executable, not in the libraries.
protocol CLIReportable: Error {
    var exitCode: Int32 { get }
    var cliMessage: String { get }
}

extension InvalidValue: CLIReportable {
    var exitCode: Int32 { 65 }
    var cliMessage: String { description }
}
