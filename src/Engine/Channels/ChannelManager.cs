using Engine.Diagnostics;
using Engine.Discovery;
using Engine.Election;
using Engine.Gossip;
using Engine.Ledger;
using Engine.Membership;
using Engine.Node;
using Engine.Ordering;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Channels;

/// <summary>
/// The node's channel layer: the channels it joined, and one message store, push emitter and disseminator shared by
/// their blocks, StateInfo and leadership messages (kept apart from application data so a node without channels runs
/// exactly as before). Routes every channel message the node receives: blocks (from the orderer to the delivery stream,
/// pushed ones through the ingress filter), StateInfo and leadership (verified through <see cref="Signer"/>), StateInfo
/// pull requests and snapshots, block pull messages, delivery statuses. Created by the node's first JoinChannel.
/// </summary>
internal sealed class ChannelManager : IDisposable
{
    private readonly MessageStore _store;
    private readonly PushEmitter _emitter;
    private readonly Action<BlockCommittedEvent> _committed;
    private readonly Func<Random> _random;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _dropLog;
    private readonly Lock _joinGate = new();
    private volatile GossipChannel[] _channels = [];
    private long _dropped;
    private long _notJoined;

    public ChannelManager(GossipOptions options, ITransport transport, MembershipTable table, DiscoveryService discovery, TimeProvider time,
        Func<Random> random, ILoggerFactory loggerFactory, Action<BlockCommittedEvent> committed)
    {
        Options = options;
        Transport = transport;
        Table = table;
        Discovery = discovery;
        Time = time;
        LoggerFactory = loggerFactory;
        _random = random;
        _committed = committed;
        PkiId = discovery.PkiId.ToArray();
        Org = options.OrgId;
        Endpoint = discovery.Endpoint;
        PeerName = discovery.Endpoint.ToString();
        Incarnation = discovery.Incarnation;
        _logger = loggerFactory.CreateLogger("Engine.Channels");
        _dropLog = new LogRateLimiter(time, TimeSpan.FromSeconds(1));
        // De-duplication of recent channel messages only (the ledger's window serves pull; the ingress filter drops blocks
        // below the height): one stripe of 8 MiB, so a block up to about 8 MiB is pushed; a larger one is committed and
        // served by pull, not pushed.
        _store = new MessageStore(
            new MessageStoreOptions { MaxEntries = 4096, MaxBytes = 8L * 1024 * 1024, TimeToLive = options.DeadMemberRetention, Shards = 1 },
            time,
            random());
        var gossipLogger = loggerFactory.CreateLogger("Engine.Gossip");
        // Blocks too large for a datagram are announced to push's targets and LazyPushPeerNum more, which ask for them at
        // once (LazyBlockPush); blocks that fit a datagram are pushed whole, with no announcements. So no announced block
        // fits a reply datagram: Wants go unpadded and are answered in frames.
        var push = PushOptions.From(options);
        push.LazyPeerNum = 0;
        push.LazyKinds = LazyKinds.Block;
        push.AnnounceOversize = options.LazyBlockPush;
        push.OversizeExtraPeers = options.LazyPushPeerNum;
        _emitter = new PushEmitter(push, transport, table, time, gossipLogger);
        Disseminator = new Disseminator(_store, _emitter, Endpoint, time, Route, OnDelivered, gossipLogger);
        Lazy = new LazyRepair(new LazyRepairOptions { AskAtOnce = true, Kinds = LazyKinds.Block, DatagramReplies = false, RetryAfter = TimeSpan.FromSeconds(2), ForgetAfter = TimeSpan.FromSeconds(10) }, _store, transport, time, random(), gossipLogger)
        {
            // A block below the ledger height is committed: announcements of it that come late (after the store's byte
            // bound evicted it) must not fetch it again.
            Held = (in MessageId id) => id.Kind == MessageKind.Block && Find(id.Channel) is { } channel && id.Sequence < channel.Store.Height,
        };
        if (options.BlockRelayFanout > 0)
        {
            Relay = new BlockRelay(this, options.BlockRelayFanout, random(), _logger);
        }

        _emitter.Start();
        Lazy.Start();
        if (options.CrossOrgMembership == CrossOrgMembership.ChannelOrgsOnly)
        {
            discovery.SharesChannelWith = SharesChannelWith;
        }
    }

    public GossipOptions Options { get; }

    public ITransport Transport { get; }

    public MembershipTable Table { get; }

    public DiscoveryService Discovery { get; }

    public TimeProvider Time { get; }

    public ILoggerFactory LoggerFactory { get; }

    public byte[] PkiId { get; }

    public string Org { get; }

    public PeerEndpoint Endpoint { get; }

    public string PeerName { get; }

    public ulong Incarnation { get; }

    public Disseminator Disseminator { get; }

    /// <summary>
    /// The receiving side of block announcements (<see cref="GossipOptions.LazyBlockPush"/>): an announced block this
    /// peer lacks is asked for at once, of the first peer that announced it (of a second one if no answer within 2 s;
    /// not again for 10 s, however many peers announce it meanwhile: a body queued behind others on a loaded TCP
    /// connection is late, not lost, and asking again would only add to the queue).
    /// </summary>
    public LazyRepair Lazy { get; }

    /// <summary>The relay tree for blocks (<see cref="GossipOptions.BlockRelayFanout"/>); null when blocks go by push.</summary>
    public BlockRelay? Relay { get; }

    /// <summary>Signs this peer's StateInfo and leadership messages and verifies received ones (the security layer's seam).</summary>
    public IEnvelopeSigner Signer { get; set; } = UnsignedEnvelopes.Instance;

    /// <summary>Channel messages dropped: unknown channel, bad signature, malformed.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>StateInfo (pushed or in a snapshot) of channels this peer has not joined: ignored and not stored.</summary>
    public long NotJoinedIgnored => Interlocked.Read(ref _notJoined);

    public IReadOnlyList<GossipChannel> Channels => _channels;

    public Random NewRandom() => _random();

    public GossipChannel Join(ReadOnlySpan<byte> genesisBlock, PeerEndpoint orderer)
    {
        lock (_joinGate)
        {
            var channel = new GossipChannel(this, genesisBlock, orderer);
            if (Find(channel.IdBytes) is not null)
            {
                channel.Dispose();
                throw new InvalidOperationException($"This peer already joined channel {channel.Id}.");
            }

            _channels = [.. _channels, channel];
            string mode = Options.Election.UseLeaderElection ? "dynamic" : Options.Election.OrgLeader ? "static leader" : "static follower";
            ChannelLog.Joined(_logger, PeerName, channel.Id, orderer, Org, mode);
            channel.Start();
            return channel;
        }
    }

    public GossipChannel? Find(ReadOnlySpan<byte> channel)
    {
        foreach (var c in _channels)
        {
            if (channel.SequenceEqual(c.IdBytes))
            {
                return c;
            }
        }

        return null;
    }

    public GossipChannel? Find(string channel)
    {
        foreach (var c in _channels)
        {
            if (c.Id == channel)
            {
                return c;
            }
        }

        return null;
    }

    /// <summary>The orgs of a joined channel (null for another channel): what the security layer checks senders against.</summary>
    public IReadOnlyCollection<string>? OrgsOf(ReadOnlySpan<byte> channel) => Find(channel)?.Orgs;

    /// <summary>True when a channel this peer joined has <paramref name="org"/> in its configuration.</summary>
    public bool SharesChannelWith(string org)
    {
        foreach (var channel in _channels)
        {
            if (channel.HasOrg(org))
            {
                return true;
            }
        }

        return false;
    }

    internal void RaiseCommitted(in BlockCommittedEvent e)
    {
        try
        {
            _committed(e);
        }
        catch (Exception ex)
        {
            ChannelLog.SubscriberFailed(_logger, ex, PeerName, e.Number, e.Channel);
        }
    }

    /// <summary>Handles <paramref name="envelope"/> when it is a channel message; false (touching nothing) otherwise.</summary>
    public bool TryHandle(PeerEndpoint source, ReadOnlySpan<byte> envelope, in EnvelopeView view)
    {
        switch (view.ContentField)
        {
            case EnvelopeView.DataMessageContent:
                {
                    if (Find(view.Channel) is not { } channel)
                    {
                        return Drop(source, "a block", "this peer is not in its channel");
                    }

                    if (source == channel.Orderer && channel.Delivery.TryHandle(source, envelope))
                    {
                        return true;
                    }

                    if (BlockCodec.TryRead(envelope, out var block) is { } error)
                    {
                        return Drop(source, "a block", error);
                    }

                    if (channel.AcceptsPushed(block.Sequence) && Disseminator.Receive(source, envelope) == ReceiveOutcome.Rejected)
                    {
                        channel.OnBlock(envelope, source); // too large for the message store: committed here, not pushed on
                    }

                    return true;
                }

            case BlockRelay.RelayContent:
                if (Find(view.Channel) is not { } relayed)
                {
                    return Drop(source, "a relayed block", "this peer is not in its channel");
                }

                if (Relay is null)
                {
                    return Drop(source, "a relayed block", "this peer does not relay blocks (gossip.blockRelayFanout is 0)");
                }

                Relay.OnRelay(relayed, source, view.Content);
                return true;

            case EnvelopeView.StateInfoContent:
                if (!ChannelMessages.TryParseStateInfo(view.Content, out var state))
                {
                    return Drop(source, "a StateInfo", "malformed");
                }

                if (!Signer.Verify(in view, source))
                {
                    return true; // refused by the security layer (counted and logged there)
                }

                if (Find(view.Channel) is null)
                {
                    // Not stored either: once this peer joins, the next copy (or a pulled snapshot) must count as new.
                    return NotJoined(source, "a StateInfo", view.Channel);
                }

                Disseminator.Receive(source, envelope);
                return true;

            case EnvelopeView.LeadershipContent:
                if (!LeadershipCodec.TryParse(view.Content, out var leadership))
                {
                    return Drop(source, "a leadership message", "malformed");
                }

                if (Find(view.Channel) is null)
                {
                    return Drop(source, "a leadership message", "this peer is not in its channel");
                }

                if (!Signer.Verify(in view, source))
                {
                    return true; // refused by the security layer (counted and logged there)
                }

                Disseminator.Receive(source, envelope);
                return true;

            case ChannelMessages.StateInfoPullRequestContent:
                if (Find(view.Channel) is { } requested)
                {
                    Transport.SendFrame(source, ChannelMessages.Snapshot(requested.IdBytes, requested.StateEnvelopes()));
                }

                return true;

            case ChannelMessages.SnapshotContent:
                return HandleSnapshot(source, view.Content);

            case ChannelMessages.StateRequestContent:
                if (Find(view.Channel) is not { } asked)
                {
                    return Drop(source, "a state request", "this peer is not in its channel");
                }

                asked.StateTransfer.OnRequest(source, view.Nonce, view.Content);
                return true;

            case ChannelMessages.StateResponseContent:
                if (Find(view.Channel) is not { } answered)
                {
                    return Drop(source, "a state response", "this peer is not in its channel");
                }

                answered.StateTransfer.OnResponse(source, view.Nonce, view.Content);
                return true;

            case >= EnvelopeView.HelloContent and <= EnvelopeView.UpdateContent:
                return Find(view.Channel) is { } pulled && pulled.Pull.TryHandle(source, envelope);

            case DeliveryCodec.RequestContent or DeliveryCodec.StopContent or DeliveryCodec.StatusContent:
                return Find(view.Channel) is { } delivered && delivered.Delivery.TryHandle(source, envelope);

            default:
                return false;
        }
    }

    private bool HandleSnapshot(PeerEndpoint source, ReadOnlySpan<byte> content)
    {
        var elements = new List<byte[]>();
        if (!ChannelMessages.TryReadSnapshot(content, elements))
        {
            return Drop(source, "a StateInfo snapshot", "malformed");
        }

        foreach (var element in elements)
        {
            if (!EnvelopeView.TryParse(element, out var view) || view.ContentField != EnvelopeView.StateInfoContent
                || !ChannelMessages.TryParseStateInfo(view.Content, out var state))
            {
                Drop(source, "a StateInfo snapshot element", "not a StateInfo");
                continue;
            }

            if (!Signer.Verify(in view, source))
            {
                continue; // refused by the security layer (counted and logged there)
            }

            if (Find(view.Channel) is null)
            {
                NotJoined(source, "a StateInfo snapshot element", view.Channel);
                continue;
            }

            Disseminator.AcceptPulled(source, element);
        }

        return true;
    }

    public void OnConnectionLost(PeerEndpoint peer, string reason)
    {
        foreach (var channel in _channels)
        {
            channel.Delivery.OnConnectionLost(peer, reason);
        }
    }

    /// <summary>A message of a channel this peer has not joined (or not yet: a join in progress): ignored, not stored, logged at debug level.</summary>
    private bool NotJoined(PeerEndpoint source, string what, ReadOnlySpan<byte> channel)
    {
        Interlocked.Increment(ref _notJoined);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            string name = System.Text.Encoding.UTF8.GetString(channel);
            ChannelLog.NotJoined(_logger, PeerName, what, name, source);
        }

        return true;
    }

    private bool Drop(PeerEndpoint source, string what, string reason)
    {
        Interlocked.Increment(ref _dropped);
        if (_dropLog.TryAcquire(out long suppressed))
        {
            ChannelLog.Dropped(_logger, PeerName, what, source, reason, suppressed);
        }

        return true;
    }

    /// <summary>
    /// Where each channel message goes: blocks to pushPeerNum peers of this org with state in the channel, leadership
    /// messages to every peer of this org, StateInfo to peers of the channel's orgs (Fabric's CHAN_OR_ORG).
    /// </summary>
    private GossipRoute Route(in MessageId id, ReadOnlySpan<byte> envelope)
    {
        var channel = Find(id.Channel);
        return id.Kind switch
        {
            MessageKind.Block => new GossipRoute { Org = Org, Predicate = channel },
            MessageKind.Leadership => new GossipRoute { Org = Org, Fanout = PushOptions.From(Options).MaxFanout },
            MessageKind.StateInfo => new GossipRoute { Predicate = channel?.InChannelOrgs },
            _ => default,
        };
    }

    private void OnDelivered(in MessageId id, ReadOnlySpan<byte> envelope, PeerEndpoint source)
    {
        var channel = Find(id.Channel);
        if (channel is null || !EnvelopeView.TryParse(envelope, out var view))
        {
            return;
        }

        switch (id.Kind)
        {
            case MessageKind.Block:
                channel.OnBlock(envelope, source);
                break;
            case MessageKind.StateInfo when ChannelMessages.TryParseStateInfo(view.Content, out var state):
                channel.OnStateInfo(envelope, in state);
                break;
            case MessageKind.Leadership when !source.IsEmpty && LeadershipCodec.TryParse(view.Content, out var leadership):
                channel.OnLeadership(in leadership);
                break;
        }
    }

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        _emitter.Dispose();
        Lazy.Dispose();
    }
}
