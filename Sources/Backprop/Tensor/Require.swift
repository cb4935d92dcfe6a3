/// Argument and shape checks whose messages survive release builds.
///
/// `precondition` drops its message in `-c release` (the program stops with only
/// "precondition failure"); these print the message in every build, then stop.

/// Stops the program with `message` (file and line in debug builds) when `condition` is false.
/// The check itself costs what `precondition` costs; the message is built only on failure.
@inline(__always)
@usableFromInline
func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!condition()) { requireFailure(message(), file: file, line: line) }
}

/// Stops the program with `message`, in debug and release builds alike.
@inline(never)
@usableFromInline
func requireFailure(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError(message, file: file, line: line)
}
