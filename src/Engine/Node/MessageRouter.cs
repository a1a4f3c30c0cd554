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
    private volatile LazyRepair? _lazy;
    private volatile PullEngine? _identityPull;
    private volatile Security.NodeSecurity? _security;

    public void Attach(DiscoveryService discovery) => _discovery = discovery;

    /// <summary>
    /// Routes disseminated messages to <paramref name="disseminator"/>, pull messages to <paramref name="pull"/> (null: pull is off)
    /// and lazy push's Announce and Want to <paramref name="lazy"/> (null: ignored).
    /// </summary>
    public void Attach(Disseminator disseminator, PullEngine? pull, LazyRepair? lazy = null)
    {
        _pull = pull;
        _lazy = lazy;
        _disseminator = disseminator;
    }

    /// <summary>Routes channel messages (blocks, StateInfo, leadership, block pull, delivery) to <paramref name="channels"/>.</summary>
    public void Attach(Channels.ChannelManager channels) => _channels = channels;

    /// <summary>Routes identity pull messages (signed nodes only) to <paramref name="identityPull"/>.</summary>
    public void AttachIdentityPull(PullEngine identityPull) => _identityPull = identityPull;

    /// <summary>Signed nodes: state info and leadership envelopes are verified (signature, channel membership) before any layer sees them.</summary>
    public void AttachSecurity(Security.NodeSecurity security) => _security = security;

    public void Detach()
    {
        _channels = null;
        _identityPull = null;
        _security = null;
        _discovery = null;
        _disseminator = null;
        _pull = null;
        _lazy = null;
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
            else if (view.ContentField is EnvelopeView.AnnounceContent or EnvelopeView.WantContent && LazyFor(view.Content) is { } lazy)
            {
                if (view.ContentField == EnvelopeView.AnnounceContent)
                {
                    lazy.OnAnnounce(source, view.Content);
                }
                else
                {
                    lazy.OnWant(source, view.Content);
                }
            }
            else if (view.ContentField == EnvelopeView.SwimContent)
            {
                discovery.HandleSwim(source, view.Content, now);
            }
            else if (_channels is { } channels && channels.TryHandle(source, envelope, in view))
            {
                // a channel message (StateInfo and leadership verified there through the node's signer)
            }
            else if (view.ContentField is EnvelopeView.StateInfoContent or EnvelopeView.LeadershipContent && _security is { } security)
            {
                // No channel joined: verified and checked against the channel's orgs (refusals are counted there), then unhandled.
                security.AcceptChannelEnvelope(view, source);
                discovery.Counters.UnhandledEnvelope();
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

    /// <summary>
    /// Where an Announce or Want goes: block digests to the channels' lazy repair, the rest to the node's (an
    /// Announce or Want names one kind: each emitter announces one kind per datagram record).
    /// </summary>
    private LazyRepair? LazyFor(ReadOnlySpan<byte> content) =>
        DigestListCodec.TryPeekKind(content, out var kind) && kind == MessageKind.Block ? _channels?.Lazy : _lazy;

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
        var copy = LargeBuffers.Pool.Rent(length);
        try
        {
            payload.CopyTo(copy);
            Dispatch(discovery, source, copy.AsSpan(0, length));
        }
        finally
        {
            LargeBuffers.Pool.Return(copy);
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
            case EnvelopeView.StateInfoContent or EnvelopeView.LeadershipContent when _channels is null && _security is { } security:
                security.AcceptChannelEnvelope(view, source);
                discovery.Counters.UnhandledEnvelope();
                break;
            case >= EnvelopeView.HelloContent and <= EnvelopeView.UpdateContent when _pull is not null || _identityPull is not null || _channels is not null:
                if (!(_pull?.TryHandle(source, frame) ?? false) && !(_identityPull?.TryHandle(source, frame) ?? false)
                    && !(_channels is { } pullChannels && pullChannels.TryHandle(source, frame, in view)))
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
