import Glibc

/// The `longname` of READDIR entries, in the `ls -l` layout OpenSSH's server uses (clients such
/// as `sftp ls -l`, WinSCP and FileZilla show or parse it). Times are UTC; owner and group are a
/// fixed word, the server's accounts are not the partner's business.
enum SFTPLongName {
    static let owner = "flux"
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(name: String, attributes a: SFTPAttributes, now: Int) -> String {
        let mode = modeString(a.permissions)
        let links = a.isDirectory ? 2 : 1
        let size = String(a.size)
        let when = timeString(Int(a.mtime), now: now)
        return "\(mode) \(pad(String(links), 3)) \(owner.padding(8)) \(owner.padding(8)) \(pad(size, 8)) \(when) \(name)"
    }

    static func modeString(_ m: UInt32) -> String {
        var s = ""
        switch m & 0o170000 {
        case SFTPAttributes.directoryType: s.append("d")
        case 0o120000: s.append("l")
        default: s.append("-")
        }
        let bits: [(UInt32, Character)] = [
            (0o400, "r"), (0o200, "w"), (0o100, "x"), (0o040, "r"), (0o020, "w"), (0o010, "x"),
            (0o004, "r"), (0o002, "w"), (0o001, "x"),
        ]
        for (bit, ch) in bits { s.append(m & bit != 0 ? ch : "-") }
        return s
    }

    /// "Mon dd HH:MM" within six months, "Mon dd  YYYY" otherwise (as `ls`).
    static func timeString(_ t: Int, now: Int) -> String {
        var tt = time_t(t)
        var tmv = tm()
        guard gmtime_r(&tt, &tmv) != nil else { return "Jan  1  1970" }
        let month = months[Int(max(0, min(11, tmv.tm_mon)))]
        let day = pad(String(tmv.tm_mday), 2)
        let sixMonths = 182 * 24 * 3600
        if abs(now - t) < sixMonths {
            return "\(month) \(day) \(zero(Int(tmv.tm_hour))):\(zero(Int(tmv.tm_min)))"
        }
        return "\(month) \(day)  \(Int(tmv.tm_year) + 1900)"
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    private static func zero(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
