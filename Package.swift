// swift-tools-version: 6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "flux-gateway",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "flux-gateway", targets: ["flux-gateway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "CLibArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CQPDF", pkgConfig: "libqpdf", providers: [.apt(["libqpdf-dev"])]),
        .systemLibrary(name: "CLibSSH", pkgConfig: "libssh", providers: [.apt(["libssh-dev"])]),
        .systemLibrary(name: "CCrypt", pkgConfig: "libxcrypt", providers: [.apt(["libcrypt-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .target(name: "CFluxShims", dependencies: ["COpenSSL", "CLibXML2", "CLibArchive", "CZlib", "CDeflate"]),
        .target(name: "FluxCore", dependencies: [], swiftSettings: strict),
        .target(name: "FluxCrypto", dependencies: ["FluxCore", "COpenSSL", "CFluxShims", "CZlib"], swiftSettings: strict),
        .target(name: "FluxInvoice", dependencies: ["FluxCore", "CLibXML2", "CLibArchive", "CQPDF", "CFluxShims", "CZlib"], swiftSettings: strict),
        .target(name: "FluxMIME", dependencies: [], swiftSettings: strict),
        .target(name: "FluxAS2", dependencies: ["FluxCore", "FluxCrypto", "FluxMIME"], swiftSettings: strict),
        .target(name: "FluxSFTP", dependencies: ["CLibSSH", "CFluxShims", "FluxCore", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .target(name: "FluxStore", dependencies: [
            "FluxCore", "FluxCrypto", "FluxInvoice", "CLibArchive", "CFluxShims",
            .product(name: "GRDB", package: "GRDB.swift"),
        ], swiftSettings: strict),
        .target(name: "FluxGateway", dependencies: [
            "FluxCore", "FluxCrypto", "FluxInvoice", "FluxStore", "FluxMIME", "FluxAS2", "FluxSFTP", "CFluxShims", "CCrypt",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "TOMLKit", package: "TOMLKit"),
        ], swiftSettings: strict),
        .executableTarget(name: "flux-gateway", dependencies: [
            "FluxGateway", "FluxStore", "FluxInvoice", "FluxCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict,
        // gperftools' tcmalloc replaces glibc malloc for the whole process (Swift runtime,
        // libxml2, qpdf, libssh): validation runs 10-13% faster (docs/performance.md). Linked into
        // the executable only, so the allocation-count tests keep their own counting allocator.
        linkerSettings: [.linkedLibrary("tcmalloc_minimal", .when(platforms: [.linux]))]),
        // Helpers shared by the test targets (running external tools such as tar and openssl).
        .target(name: "FluxTestSupport", path: "Tests/FluxTestSupport", swiftSettings: strict),
        .testTarget(name: "FluxMIMETests", dependencies: ["FluxMIME", "FluxTestSupport"], resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "FluxSFTPTests", dependencies: ["FluxSFTP", "FluxTestSupport", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .testTarget(name: "FluxAS2Tests", dependencies: ["FluxAS2", "FluxMIME", "FluxCrypto", "FluxCore", "FluxTestSupport"], swiftSettings: strict),
        .testTarget(name: "FluxCoreTests", dependencies: ["FluxCore"], swiftSettings: strict),
        .testTarget(name: "FluxCryptoTests", dependencies: ["FluxCrypto", "FluxCore"], swiftSettings: strict),
        // Allocation counts of the hot paths (no timing): the test executable exports malloc & co.
        // so the counting allocator of CAllocationCounter sees every library's calls.
        .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter"),
        .testTarget(name: "AllocationTests", dependencies: ["CAllocationCounter", "FluxMIME", "FluxInvoice", "FluxSFTP", "FluxCore"],
                    swiftSettings: strict,
                    linkerSettings: [.unsafeFlags(["malloc", "calloc", "realloc", "free"].flatMap { ["-Xlinker", "--export-dynamic-symbol=\($0)"] })]),
        .testTarget(name: "FluxInvoiceTests", dependencies: ["FluxInvoice", "FluxCore", "FluxTestSupport"], swiftSettings: strict),
        .testTarget(name: "FluxStoreTests", dependencies: ["FluxStore", "FluxCrypto", "FluxInvoice", "FluxCore", "FluxTestSupport", "CFluxShims", .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: strict),
        .testTarget(name: "IntegrationTests", dependencies: ["FluxGateway", "FluxStore", "FluxCrypto", "FluxCore", "FluxMIME", .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: strict),
    ]
)
