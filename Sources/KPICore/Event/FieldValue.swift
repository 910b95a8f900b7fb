/// One field of an event as the decoder extracted it.
///
/// A `FieldValue` is a view: `string` points into memory owned by the decoder and is valid
/// only until the decoder moves to the next event. Copy the bytes (for example with
/// ``FieldValue/stringValue``) before keeping them. Building one costs no allocation.
public struct FieldValue: @unchecked Sendable {
    /// What the JSON value of the field was.
    public enum Kind: UInt8, Sendable {
        /// The event has no such field.
        case absent
        /// The field is JSON `null`.
        case null
        /// `true` or `false`; ``FieldValue/number`` is 1 or 0.
        case bool
        /// A JSON number, in ``FieldValue/number``.
        case number
        /// A JSON string, unescaped UTF-8 in ``FieldValue/string``.
        case string
    }

    public var kind: Kind
    /// The numeric value for `.number`, 1/0 for `.bool`, otherwise 0.
    public var number: Double
    /// The UTF-8 bytes for `.string`, otherwise empty.
    public var string: UnsafeRawBufferPointer

    @inlinable
    public init(kind: Kind, number: Double = 0, string: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        self.kind = kind
        self.number = number
        self.string = string
    }

    /// An absent field.
    public static let absent = FieldValue(kind: .absent)

    /// The string bytes copied into a Swift `String` (allocates), or nil when not a string.
    public var stringValue: String? {
        guard kind == .string else { return nil }
        return String(decoding: string, as: UTF8.self)
    }
}
