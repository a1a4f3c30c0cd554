using System.Buffers;
using Engine.Transport;

namespace Engine.Tests.Transport.Memory;

/// <summary>What one node's handler saw, in order, with the (virtual) time of each event.</summary>
internal sealed record TraceEntry(TimeSpan At, string Kind, PeerEndpoint Node, PeerEndpoint Peer, byte[] Body, string? Reason = null);

/// <summary>Records everything a node receives into a list (shared between nodes for a network-wide trace).</summary>
internal sealed class TraceHandler(PeerEndpoint node, TimeProvider time, List<TraceEntry> trace) : ITransportHandler
{
    private readonly DateTimeOffset _start = time.GetUtcNow();

    public Action<PeerEndpoint, byte[]>? OnDatagramReceived { get; init; }

    public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
    {
        var body = payload.ToArray();
        lock (trace)
        {
            trace.Add(new TraceEntry(time.GetUtcNow() - _start, "datagram", node, source, body));
        }

        OnDatagramReceived?.Invoke(source, body);
    }

    public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
    {
        var body = payload.ToArray();
        lock (trace)
        {
            trace.Add(new TraceEntry(time.GetUtcNow() - _start, "frame", node, source, body));
        }
    }

    public void OnConnectionLost(PeerEndpoint peer, string reason)
    {
        lock (trace)
        {
            trace.Add(new TraceEntry(time.GetUtcNow() - _start, "lost", node, peer, [], reason));
        }
    }
}
