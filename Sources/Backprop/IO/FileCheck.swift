// Checks that a path names a regular file before it is opened for reading, so that a
// FIFO (which would block forever), a directory or a device (/dev/zero, endless) given as
// a data file fails at once with a message saying what the path really is.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What kind of file system object a `stat` mode describes ("a directory", "a FIFO", ...).
func fileKindName(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFREG: return "a regular file"
    case S_IFDIR: return "a directory"
    case S_IFIFO: return "a FIFO (named pipe)"
    case S_IFCHR: return "a character device"
    case S_IFBLK: return "a block device"
    case S_IFSOCK: return "a socket"
    case S_IFLNK: return "a symbolic link"
    default: return "not a regular file"
    }
}

/// Why `path` cannot be read as a data file (the problem, for an error message), or nil
/// if it is an existing regular file (symbolic links followed).
func regularFileProblem(_ path: String) -> String? {
    guard !path.isEmpty else { return "the path is empty" }
    var info = stat()
    guard stat(path, &info) == 0 else {
        return errno == ENOENT ? "no such file" : "cannot be examined: \(String(cString: strerror(errno)))"
    }
    guard info.st_mode & S_IFMT == S_IFREG else {
        return "is \(fileKindName(info.st_mode)), not a regular file"
    }
    return nil
}
