// The MPI world from Swift: start-up (MPI_Init_thread, FUNNELED), rank and size, the exit
// rule (finalize on success, abort every rank on failure), and the few collectives that
// data-parallel training needs, each checked.
import Backprop
import CMPI
import Foundation

/// An MPI call that failed, or a run that MPI cannot start: names the call and gives MPI's
/// own message.
public struct MPIError: Error, CustomStringConvertible, Equatable {
    /// What failed and why.
    public let message: String
    /// An error with `message`.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The processes of one run (`MPI_COMM_WORLD`): this process's `rank` among `size`.
///
/// `MPIWorld.start()` initializes MPI once per process, with `MPI_Init_thread` at
/// `MPI_THREAD_FUNNELED` (only the thread that started MPI calls it; the library's thread
/// pool keeps running GEMMs and loops on every rank). Without `mpirun` the process is a
/// world of one (an MPI "singleton"), so the same program runs alone unchanged.
///
/// At exit, a process that exits with status 0 calls `MPI_Finalize`; one that exits with
/// any other status calls `MPI_Abort`, which stops every rank at once (so a rank that
/// fails alone cannot leave the others waiting in a collective). `exitTogether(_:)` is
/// for failures every rank sees at the same time (a model mismatch): each rank has
/// printed its message before any is stopped.
///
/// Errors of MPI calls during training are fatal: the message names the call and MPI's
/// reason, and the run is aborted on every rank (there is no recovering a lost rank).
public final class MPIWorld: @unchecked Sendable {
    /// This process's index, `0..<size`. Rank 0 is the root: it broadcasts the initial
    /// weights and writes the files.
    public let rank: Int
    /// The number of processes.
    public let size: Int
    /// The thread level MPI granted (`MPI_THREAD_FUNNELED` = 1 or more).
    public let threadLevel: Int
    /// True on rank 0.
    public var isRoot: Bool { rank == 0 }

    let comm: MPI_Comm

    private static let lock = NSLock()
    nonisolated(unsafe) private static var shared: MPIWorld?

    private init(rank: Int, size: Int, threadLevel: Int) {
        (self.rank, self.size, self.threadLevel) = (rank, size, threadLevel)
        comm = cmpi_comm_world()
    }

    /// The world, initializing MPI on the first call (later calls return the same world).
    /// Throws an `MPIError` if MPI cannot start or cannot give `MPI_THREAD_FUNNELED`.
    public static func start() throws -> MPIWorld {
        lock.lock()
        defer { lock.unlock() }
        if let shared { return shared }
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        var provided: Int32 = 0
        if initialized == 0 {
            let code = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
            guard code == MPI_SUCCESS else { throw MPIError("MPI_Init_thread failed: \(errorString(code))") }
            on_exit({ status, _ in MPIWorld.atExit(status) }, nil)
        } else {
            MPI_Query_thread(&provided)
        }
        guard provided >= Int32(MPI_THREAD_FUNNELED) else {
            throw MPIError("MPI_Init_thread: this MPI gives thread level \(provided), and Backprop needs MPI_THREAD_FUNNELED (1) or more")
        }
        MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return())
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(cmpi_comm_world(), &rank)
        MPI_Comm_size(cmpi_comm_world(), &size)
        let world = MPIWorld(rank: Int(rank), size: Int(size), threadLevel: Int(provided))
        shared = world
        return world
    }

    /// Set by `exitTogether`: every rank exits with this status, so all may finalize.
    nonisolated(unsafe) private static var finalizeOnFailure = false

    private static func atExit(_ status: Int32) {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        guard finalized == 0 else { return }
        if status == 0 || finalizeOnFailure {
            MPI_Finalize()
        } else {
            MPI_Abort(cmpi_comm_world(), status)
        }
    }

    /// Exits every rank with `status` after all have reached this call (a barrier), so that
    /// each rank's message is printed before any process stops. For failures every rank
    /// detects together, such as `DataParallelError.modelMismatch`.
    public func exitTogether(_ status: Int32) -> Never {
        fflush(nil) // (every output stream)
        MPI_Barrier(comm)
        MPIWorld.finalizeOnFailure = true
        exit(status)
    }

    /// MPI's message for an error code.
    static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &buffer, &length)
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) + " (MPI error \(code))"
    }

    /// Stops every rank if `code` is not `MPI_SUCCESS`, naming `call`.
    func check(_ code: Int32, _ call: @autoclosure () -> String) {
        guard code != MPI_SUCCESS else { return }
        let message = "BackpropMPI: rank \(rank) of \(size): \(call()) failed: \(MPIWorld.errorString(code))\n"
        FileHandle.standardError.write(message.data(using: .utf8)!)
        MPI_Abort(comm, 1)
        exit(1)
    }

    /// Blocks until every rank has called it.
    public func barrier() { check(MPI_Barrier(comm), "MPI_Barrier") }

    // MARK: - Collectives on scalars

    /// The MPI datatype of `Scalar` (Float or Double).
    static func datatype<Scalar: TensorScalar>(_: Scalar.Type) -> MPI_Datatype {
        if Scalar.self == Float.self { return cmpi_float() }
        require(Scalar.self == Double.self, "BackpropMPI: no MPI datatype for \(Scalar.self) (Float and Double are supported)")
        return cmpi_double()
    }

    /// `count` elements at `buffer` replaced by rank `root`'s, on every rank (`MPI_Bcast`).
    func broadcast<Scalar: TensorScalar>(_ buffer: UnsafeMutablePointer<Scalar>, count: Int, root: Int = 0) {
        var offset = 0
        repeat { // (MPI counts are Int32)
            let n = min(count - offset, Int(Int32.max))
            check(
                MPI_Bcast(buffer + offset, Int32(n), MPIWorld.datatype(Scalar.self), Int32(root), comm), "MPI_Bcast of \(n) \(Scalar.self)s"
            )
            offset += n
        } while offset < count
    }

    /// The tensor's elements replaced by rank `root`'s, on every rank.
    public func broadcast<Scalar: TensorScalar>(_ tensor: inout Tensor<Scalar>, root: Int = 0) {
        let count = tensor.count
        tensor.withUnsafeMutablePointer { broadcast($0, count: count, root: root) }
    }

    /// The element-wise sum over all ranks of `count` elements at `buffer`, in place, on
    /// every rank (`MPI_Allreduce` with `MPI_IN_PLACE`).
    func allreduceSum<Scalar: TensorScalar>(_ buffer: UnsafeMutablePointer<Scalar>, count: Int) {
        require(count <= Int(Int32.max), "BackpropMPI: allreduce of \(count) elements, more than MPI's Int32 count")
        check(
            MPI_Allreduce(cmpi_in_place(), buffer, Int32(count), MPIWorld.datatype(Scalar.self), cmpi_sum(), comm),
            "MPI_Allreduce of \(count) \(Scalar.self)s")
    }

    /// The element-wise sum over all ranks of `values`.
    public func sum(_ values: [Double]) -> [Double] {
        var values = values
        let count = values.count
        values.withUnsafeMutableBufferPointer { allreduceSum($0.baseAddress!, count: count) }
        return values
    }

    /// The tensor replaced by the element-wise sum over all ranks of it, on every rank (one
    /// blocking `MPI_Allreduce`).
    public func sum<Scalar: TensorScalar>(_ tensor: inout Tensor<Scalar>) {
        let count = tensor.count
        tensor.withUnsafeMutablePointer { allreduceSum($0, count: count) }
    }

    /// The sum over all ranks of `value`.
    public func sum(_ value: Double) -> Double { sum([value])[0] }

    /// Starts the sum over all ranks of `count` elements at `buffer`, in place
    /// (`MPI_Iallreduce`); the buffer must stay untouched until the request is waited for.
    func startAllreduceSum<Scalar: TensorScalar>(_ buffer: UnsafeMutablePointer<Scalar>, count: Int) -> MPI_Request? {
        require(count <= Int(Int32.max), "BackpropMPI: allreduce of \(count) elements, more than MPI's Int32 count")
        var request: MPI_Request? = cmpi_request_null()
        check(
            MPI_Iallreduce(cmpi_in_place(), buffer, Int32(count), MPIWorld.datatype(Scalar.self), cmpi_sum(), comm, &request),
            "MPI_Iallreduce of \(count) \(Scalar.self)s")
        return request
    }

    /// Lets MPI progress the requests (`MPI_Testall`); true once all are complete.
    func test(_ requests: inout [MPI_Request?]) -> Bool {
        guard !requests.isEmpty else { return true }
        var done: Int32 = 0
        check(MPI_Testall(Int32(requests.count), &requests, &done, cmpi_statuses_ignore()), "MPI_Testall")
        return done != 0
    }

    /// Waits for one request.
    func wait(_ request: inout MPI_Request?) {
        check(MPI_Wait(&request, cmpi_status_ignore()), "MPI_Wait")
    }

    // MARK: - Gathering

    /// Every rank's `value`, indexed by rank.
    public func allGather(_ value: UInt64) -> [UInt64] {
        var mine = value
        var all = [UInt64](repeating: 0, count: size)
        check(MPI_Allgather(&mine, 1, cmpi_uint64(), &all, 1, cmpi_uint64(), comm), "MPI_Allgather of a UInt64")
        return all
    }

    /// Every rank's `bytes` (of any length), indexed by rank.
    public func allGather(_ bytes: [UInt8]) -> [[UInt8]] {
        var length = Int32(bytes.count)
        var lengths = [Int32](repeating: 0, count: size)
        check(MPI_Allgather(&length, 1, cmpi_int(), &lengths, 1, cmpi_int(), comm), "MPI_Allgather of a length")
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { offsets[r] = offsets[r - 1] + lengths[r - 1] }
        let total = Int(offsets[size - 1] + lengths[size - 1])
        var all = [UInt8](repeating: 0, count: max(total, 1))
        var mine = bytes.isEmpty ? [0] : bytes
        check(MPI_Allgatherv(&mine, length, cmpi_byte(), &all, &lengths, &offsets, cmpi_byte(), comm), "MPI_Allgatherv of \(total) bytes")
        return (0..<size).map { r in Array(all[Int(offsets[r])..<Int(offsets[r] + lengths[r])]) }
    }

    /// Every rank's `text`, indexed by rank.
    public func allGather(_ text: String) -> [String] {
        allGather(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Stops the program with `message` when `condition` is false, in release builds too
/// (Backprop's own `require` is internal to it).
@inline(__always)
func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!condition()) { fatalError(message(), file: file, line: line) }
}
