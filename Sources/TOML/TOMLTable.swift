// TOMLTable: tables while the document is read, each knowing how it was defined, and TOML's redefinition rules.

/// A table being filled. How it came to exist decides who may add to it later.
final class TOMLTable {
    enum Origin: Equatable {
        /// Created as a parent of a header ([a] while reading [a.b]): its own [a] header may still come, once.
        case implicit
        /// The root, an inline table, or defined by its own [header] or an element of [[header]].
        case header
        /// Created by dotted keys (a.b = 1) in one section: only that section may add to it, headers may only
        /// add sub-tables.
        case dotted(section: Int)
    }

    enum Entry {
        case value(TOMLValue)
        case table(TOMLTable)
        /// The elements of [[name]]; a class so that appending does not copy the list.
        case tables(TOMLTableArray)
    }

    var origin: Origin
    /// Containers above this one (tables, arrays), as in the TOMLValue that comes out; bounded by
    /// `TOMLParser.maxNesting`, which bounds recursion in `value`.
    let depth: Int
    private(set) var entries: [String: Entry] = [:]

    init(origin: Origin, depth: Int) {
        self.origin = origin
        self.depth = depth
    }

    var value: TOMLValue {
        .table(entries.mapValues { entry in
            switch entry {
            case .value(let value): value
            case .table(let table): table.value
            case .tables(let array): .array(array.elements.map(\.value))
            }
        })
    }

    // MARK: Definitions

    /// `key = value` in this table (a section, or an inline table), creating the tables of a dotted key.
    func define(_ key: [String], as value: TOMLValue, section: Int) throws(TOMLConflict) {
        func conflict(_ problem: String) -> TOMLConflict { TOMLConflict("cannot add key '\(TOMLQuoting.key(key))': \(problem)") }
        guard let name = key.last else { return }
        var table = self
        for (index, part) in key.dropLast().enumerated() {
            let path = key[...index]
            switch table.entries[part] {
            case nil:
                table = try table.addTable(part, origin: .dotted(section: section))
            case .table(let child):
                switch child.origin {
                case .implicit: child.origin = .dotted(section: section)
                case .dotted(section: section): break
                case .dotted: throw conflict("table '\(TOMLQuoting.key(path))' was defined by dotted keys in another section")
                case .header: throw conflict("table '\(TOMLQuoting.key(path))' is defined by its own [header]")
                }
                table = child
            case .tables: throw conflict("'\(TOMLQuoting.key(path))' is an array of tables")
            case .value(.table): throw conflict("'\(TOMLQuoting.key(path))' is an inline table, which cannot be extended")
            case .value(let existing): throw conflict("'\(TOMLQuoting.key(path))' is already \(existing.kindName)")
            }
        }
        guard table.entries[name] == nil else { throw TOMLConflict("duplicate key '\(TOMLQuoting.key(key))'") }
        table.entries[name] = .value(value)
    }

    /// `[path]`: the table the following keys go into.
    func defineTable(_ path: [String]) throws(TOMLConflict) -> TOMLTable {
        func conflict(_ problem: String) -> TOMLConflict { TOMLConflict("cannot define [\(TOMLQuoting.key(path))]: \(problem)") }
        let (parent, name) = try headerParent(path, conflict: conflict)
        switch parent.entries[name] {
        case nil:
            return try parent.addTable(name, origin: .header)
        case .table(let table):
            switch table.origin {
            case .implicit:
                table.origin = .header
                return table
            case .header: throw TOMLConflict("table [\(TOMLQuoting.key(path))] is already defined")
            case .dotted: throw TOMLConflict("table [\(TOMLQuoting.key(path))] is already defined by dotted keys")
            }
        case .tables: throw conflict("it is already an array of tables")
        case .value(let existing): throw conflict("'\(TOMLQuoting.key(path))' is already \(existing.kindName)")
        }
    }

    /// `[[path]]`: appends a table to the array of tables and returns it.
    func appendTable(_ path: [String]) throws(TOMLConflict) -> TOMLTable {
        func conflict(_ problem: String) -> TOMLConflict { TOMLConflict("cannot define [[\(TOMLQuoting.key(path))]]: \(problem)") }
        let (parent, name) = try headerParent(path, conflict: conflict)
        // The array and its element are a level each, as in the TOMLValue that comes out.
        let element = try parent.child(origin: .header, levels: 2)
        switch parent.entries[name] {
        case nil: parent.entries[name] = .tables(TOMLTableArray(element))
        case .tables(let array): array.append(element)
        case .table: throw conflict("'\(TOMLQuoting.key(path))' is already a table")
        case .value(.array): throw conflict("'\(TOMLQuoting.key(path))' is a static array, which cannot be extended")
        case .value(let existing): throw conflict("'\(TOMLQuoting.key(path))' is already \(existing.kindName)")
        }
        return element
    }

    /// The table a header's last key goes into: missing tables on the way are created implicitly, and an
    /// array of tables stands for its last element.
    private func headerParent(_ path: [String], conflict: (String) -> TOMLConflict) throws(TOMLConflict) -> (TOMLTable, String) {
        guard let name = path.last else { throw conflict("empty table name") }
        var table = self
        for (index, part) in path.dropLast().enumerated() {
            switch table.entries[part] {
            case nil: table = try table.addTable(part, origin: .implicit)
            case .table(let child): table = child
            case .tables(let array): table = array.last
            case .value(let existing):
                throw conflict("'\(TOMLQuoting.key(path[...index]))' is already \(existing.kindName)")
            }
        }
        return (table, name)
    }

    private func addTable(_ name: String, origin: Origin) throws(TOMLConflict) -> TOMLTable {
        let table = try child(origin: origin)
        entries[name] = .table(table)
        return table
    }

    private func child(origin: Origin, levels: Int = 1) throws(TOMLConflict) -> TOMLTable {
        guard depth + levels <= TOMLParser.maxNesting else { throw Self.tooDeep }
        return TOMLTable(origin: origin, depth: depth + levels)
    }

    private static let tooDeep = TOMLConflict("tables, arrays and inline tables nested deeper than \(TOMLParser.maxNesting)")
}

/// The elements of an array of tables; never empty.
final class TOMLTableArray {
    private(set) var last: TOMLTable
    private var earlier: [TOMLTable] = []

    init(_ first: TOMLTable) { last = first }

    var elements: [TOMLTable] { earlier + [last] }

    func append(_ table: TOMLTable) {
        earlier.append(last)
        last = table
    }
}

/// A broken redefinition rule; the parser places it at the key.
struct TOMLConflict: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
