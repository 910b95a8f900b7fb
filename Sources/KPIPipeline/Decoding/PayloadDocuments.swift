import KPICore

/// The documents of one payload as ``IngestPipeline`` reads them: decoded now, by an
/// ``EventDecoder`` over the loaded payload, or earlier, on another thread, by a
/// ``DecodedPayload``. Either way the pipeline sees the same steps, slots and lines.
public protocol PayloadDocuments {
    /// The next document's outcome; after `.event`, ``slots`` hold its fields.
    mutating func next() -> DecodeStep
    /// The fields of the current event, one per extracted field name.
    var slots: UnsafeBufferPointer<FieldValue> { get }
    /// The bytes of the current document, for reject samples.
    var currentLine: UnsafeRawBufferPointer { get }
}
