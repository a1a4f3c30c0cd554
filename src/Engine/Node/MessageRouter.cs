using System.Buffers;
using Engine.Discovery;
using Engine.Gossip;
using Engine.Gossip.Pull;
using Engine.Protocol;
using Engine.Transport;

namespace Engine.Node;

/// <summary>
/// The node's <see cref="ITransportHandler"/>: splits datagrams into envelope records and hands each envelope, and each
/// frame's envelope, to the layer that owns its content (discovery: alive, membership request and response;
/// dissemination: application data, pushed in datagrams or frames; the pull engine: Hello, Digest, Request, Update).
/// Other kinds are counted as unhandled until their layer exists. Nothing is allocated per datagram.
/// </summary>
internal sealed class MessageRouter(TimeProvider time) : ITransportHandler
{
    private volatile DiscoveryService? _discovery;
    private volatile Disseminator? _disseminator;
    private volatile PullEngine? _pull;
    private volatile Channels.ChannelManager? _channels;

    public void Attach(DiscoveryService discovery) => _discovery = discovery;

    /// <summary>Routes disseminated messages to <paramref name="disseminator"/> and pull messages to <paramref name="pull"/> (null: pull is off).</summary>
    public void Attach(Disseminator disseminator, PullEngine? pull)
    {
        _pull = pull;
        _disseminator = disseminator;
    }

    /// <summary>Routes channel messages (blocks, StateInfo, leadership, block pull, delivery) to <paramref name="channels"/>.</summary>
    public void Attach(Channels.ChannelManager channels) => _channels = channels;

    public void Detach()
    {
        _channels = null;
        _discovery = null;
        _disseminator = null;
        _pull = null;
    }

    public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
    {
        var discovery = _discovery;
        if (discovery is null)
        {
            return; // not started yet, or stopping
        }

        discovery.Counters.DatagramReceived(payload.Length);
        long now = time.GetTimestamp();
        var records = new EnvelopeBatch.Reader(payload);
        while (records.TryRead(out var envelope))
        {
            if (!EnvelopeView.TryParse(envelope, out var view))
            {
                discovery.BadInput(source, "an envelope in a datagram", "malformed protobuf", "envelope");
                continue;
            }

            if (view.ContentField == EnvelopeView.AliveContent)
            {
                discovery.HandleAlive(source, envelope, view.Content, now);
            }
            else if (view.ContentField == EnvelopeView.AppDataContent && _disseminator is { } disseminator)
            {
                disseminator.Receive(source, envelope);
            }
            else if (_channels is { } channels && channels.TryHandle(source, envelope, in view))
            {
                // a channel message: handled
            }
            else
            {
                discovery.Counters.UnhandledEnvelope();
            }
        }

        if (records.Malformed)
        {
            discovery.BadInput(source, "a datagram record", "its length is malformed, zero or runs past the end; the rest of the datagram was skipped", "record");
        }
    }

    public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
    {
        var discovery = _discovery;
        if (discovery is null)
        {
            return;
        }

        discovery.Counters.FrameReceived(payload.Length);
        if (payload.IsSingleSegment)
        {
            Dispatch(discovery, source, payload.FirstSpan);
            return;
        }

        int length = checked((int)payload.Length);
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            payload.CopyTo(copy);
            Dispatch(discovery, source, copy.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    public void OnConnectionLost(PeerEndpoint peer, string reason)
    {
        _discovery?.OnConnectionLost(peer, reason);
        _channels?.OnConnectionLost(peer, reason);
    }

    private void Dispatch(DiscoveryService discovery, PeerEndpoint source, ReadOnlySpan<byte> frame)
    {
        if (!EnvelopeView.TryParse(frame, out var view))
        {
            discovery.BadInput(source, "a frame", "its envelope is malformed protobuf", "frame");
            return;
        }

        long now = time.GetTimestamp();
        switch (view.ContentField)
        {
            case EnvelopeView.MembershipRequestContent:
                discovery.HandleMembershipRequest(source, view.Content, now);
                break;
            case EnvelopeView.MembershipResponseContent:
                discovery.HandleMembershipResponse(source, view.Content, now);
                break;
            case EnvelopeView.AliveContent:
                discovery.HandleAlive(source, frame, view.Content, now);
                break;
            case EnvelopeView.AppDataContent when _disseminator is { } disseminator:
                disseminator.Receive(source, frame);
                break;
            case >= EnvelopeView.HelloContent and <= EnvelopeView.UpdateContent when _pull is { } pull:
                if (!pull.TryHandle(source, frame) && !(_channels is { } pullChannels && pullChannels.TryHandle(source, frame, in view)))
                {
                    // A broken pull message, or one of a kind or channel this node does not pull.
                    if (!PullMessage.TryParse(frame, out _, out bool malformed) && malformed)
                    {
                        discovery.BadInput(source, "a pull message", "its content is malformed protobuf", "pull");
                    }
                    else
                    {
                        discovery.Counters.UnhandledEnvelope();
                    }
                }

                break;
            default:
                if (_channels is not { } channels || !channels.TryHandle(source, frame, in view))
                {
                    discovery.Counters.UnhandledEnvelope();
                }

                break;
        }
    }
}
