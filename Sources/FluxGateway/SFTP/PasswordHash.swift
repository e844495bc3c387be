import CCrypt
import Foundation

/// crypt(3) from libxcrypt: yescrypt, bcrypt, sha512-crypt hashes, checked in constant time.
enum PasswordHash {
    static func verify(_ password: String, hash: String) -> Bool {
        guard password.utf8.count <= 1024, !password.contains("\0") else { return false }
        var data = crypt_data()
        let out = password.withCString { pw in hash.withCString { h in crypt_r(pw, h, &data) } }
        guard let out else { return false }
        let computed = Array(String(cString: out).utf8)
        let expected = Array(hash.utf8)
        guard computed.count == expected.count, !computed.isEmpty, computed.first != UInt8(ascii: "*") else { return false }
        var diff: UInt8 = 0
        for (a, b) in zip(computed, expected) { diff |= a ^ b }
        return diff == 0
    }
}
