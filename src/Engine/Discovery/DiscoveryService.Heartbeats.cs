using System.Buffers;
using Engine.Protocol;

namespace Engine.Discovery;

/// <content>This peer's alive messages: PeerTime (inc_num = start time in ns, seq_num + 1 per message), encoded in place.</content>
internal sealed partial class DiscoveryService
{
    private AliveFields OwnFields(ulong seq) => new()
    {
        PkiId = _settings.PkiId,
        Endpoint = _endpointText,
        Metadata = _settings.Metadata,
        IncNum = _incarnation,
        SeqNum = seq,
        Identity = _settings.Security?.AliveIdentity() ?? _identity,
    };

    /// <summary>
    /// Writes a fresh alive envelope (the next seq_num) into a rented buffer; the caller returns it. Signed, the
    /// self information of membership requests and responses (<paramref name="withCertificate"/>) always carries the
    /// certificate, so a peer joining after publishCertPeriod learns its bootstrap peer's identity from the first
    /// exchange, and the identities of the others by identity pull from it.
    /// </summary>
    private byte[] RentOwnAlive(out int length, bool withCertificate = false)
    {
        var fields = OwnFields(NextOwnSeq());
        if (_settings.Security is { } security)
        {
            if (withCertificate)
            {
                fields = fields with { Identity = security.FullIdentity };
            }

            var signed = ArrayPool<byte>.Shared.Rent(AliveCodec.EnvelopeSize(fields, Security.NodeSecurity.SignatureReserve));
            length = security.SealAlive(fields, signed);
            return signed;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(AliveCodec.EnvelopeSize(fields, 0));
        length = AliveCodec.Write(buffer, fields, default);
        return buffer;
    }

    /// <summary>
    /// The seq_num of this peer's next alive message: Fabric's heartbeats count up; a probing strategy's stays put
    /// until this peer refutes a suspicion (SWIM's incarnation number), so every peer holds the same time for it and a
    /// suspicion about that time means the same thing everywhere.
    /// </summary>
    private ulong NextOwnSeq() => _strategy.SendsHeartbeats ? (ulong)Interlocked.Increment(ref _seq) : (ulong)Volatile.Read(ref _seq);

    /// <summary>Every alive interval: a new heartbeat, handed to the strategy.</summary>
    private void SendHeartbeat()
    {
        var buffer = RentOwnAlive(out int length);
        try
        {
            Counters.AliveSentTo(_strategy.SpreadOwn(buffer.AsSpan(0, length)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
