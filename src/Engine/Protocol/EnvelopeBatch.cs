namespace Engine.Protocol;

/// <summary>
/// The body of an Envelopes datagram: one or more records [varint length][marshalled Envelope], packed back to back.
/// Several small messages (alive heartbeats above all) share one datagram this way.
/// </summary>
internal static class EnvelopeBatch
{
    /// <summary>Bytes a record of an envelope of <paramref name="envelopeLength"/> bytes takes.</summary>
    public static int RecordSize(int envelopeLength) => ProtoSpanWriter.VarintSize((ulong)envelopeLength) + envelopeLength;

    /// <summary>Appends a record; returns false (writing nothing) when it does not fit.</summary>
    public static bool TryAppend(Span<byte> body, ref int written, ReadOnlySpan<byte> envelope)
    {
        if (envelope.IsEmpty || RecordSize(envelope.Length) > body.Length - written)
        {
            return false;
        }

        var w = new ProtoSpanWriter(body[written..]);
        w.WriteVarint((ulong)envelope.Length);
        envelope.CopyTo(body[(written + w.Position)..]);
        written += w.Position + envelope.Length;
        return true;
    }

    /// <summary>Enumerates the records of a body; <see cref="Malformed"/> tells whether it stopped on bad input.</summary>
    public ref struct Reader
    {
        private ReadOnlySpan<byte> _remaining;

        public Reader(ReadOnlySpan<byte> body)
        {
            _remaining = body;
            Malformed = false;
        }

        public bool Malformed { get; private set; }

        public bool TryRead(out ReadOnlySpan<byte> envelope)
        {
            envelope = default;
            if (_remaining.IsEmpty)
            {
                return false;
            }

            var r = new ProtoSpanReader(_remaining);
            if (!r.TryReadBytes(out envelope) || envelope.IsEmpty)
            {
                Malformed = true;
                _remaining = default;
                return false;
            }

            _remaining = _remaining[r.Position..];
            return true;
        }
    }
}
