using System.Buffers;
using Engine.Protocol;

namespace Engine.Discovery;

/// <content>This peer's alive messages: PeerTime (inc_num = start time in ns, seq_num + 1 per message), encoded in place.</content>
internal sealed partial class DiscoveryService
{
    /// <summary>
    /// This peer's alive message. Without an external endpoint it carries the endpoint (and the peer is never disclosed to
    /// other orgs); with one, it carries the external endpoint and, for this org only, the internal one in the secret envelope.
    /// </summary>
    private AliveFields OwnFields(ulong seq, bool forOtherOrg = false) => new()
    {
        PkiId = _settings.PkiId,
        Endpoint = _externalText.Length == 0 ? _endpointText : _externalText,
        Metadata = _settings.Metadata,
        IncNum = _incarnation,
        SeqNum = seq,
        Identity = _settings.Security?.AliveIdentity() ?? _identity,
        InternalEndpoint = _externalText.Length == 0 || forOtherOrg ? default : _endpointText,
    };

    /// <summary>
    /// Writes a fresh alive envelope (the next seq_num) into a rented buffer; the caller returns it. Signed, the
    /// self information of membership requests and responses (<paramref name="withCertificate"/>) always carries the
    /// certificate, so a peer joining after publishCertPeriod learns its bootstrap peer's identity from the first
    /// exchange, and the identities of the others by identity pull from it.
    /// </summary>
    /// <param name="length">The envelope's length.</param>
    /// <param name="withCertificate">Carry the full certificate (signed nodes).</param>
    /// <param name="forOtherOrg">For a peer of another org: without the secret envelope (the internal endpoint).</param>
    private byte[] RentOwnAlive(out int length, bool withCertificate = false, bool forOtherOrg = false)
    {
        var fields = OwnFields(NextOwnSeq(), forOtherOrg);
        if (_settings.Security is { } security)
        {
            if (withCertificate)
            {
                fields = fields with { Identity = security.FullIdentity };
            }

            var signed = ArrayPool<byte>.Shared.Rent(AliveCodec.EnvelopeSize(fields, Security.NodeSecurity.SignatureReserve));
            length = AliveCodec.WriteSecret(signed, security.SealAlive(fields, signed), fields);
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
