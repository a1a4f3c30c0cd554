using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using Engine.Ledger;
using Engine.Ordering;
using Engine.Peer.Admin;
using Engine.Peer.Hosting;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Peer.Ordering;

/// <summary>
/// The orderer process's life (<c>Engine.Peer orderer</c>): the library's <see cref="Orderer"/> on its own socket
/// transport, the configured channels created (their genesis blocks cut) and cutting at their rate, an admin port that
/// answers <c>status</c>, <c>cut</c> and <c>anchors</c>; on stop, the admin port and the orderer closed and a final line written.
/// </summary>
internal sealed class OrdererHost : IAsyncDisposable
{
    private readonly OrdererSettings _settings;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, double> _rates = new(StringComparer.Ordinal);
    private Orderer? _orderer;
    private AdminServer? _admin;
    private long _startedAt;
    private int _stopped;

    public OrdererHost(OrdererSettings settings, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        _settings = settings;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Engine.Peer.Orderer");
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The admin port's bound endpoint, when it is open.</summary>
    public PeerEndpoint? AdminEndpoint => _admin?.LocalEndpoint;

    /// <summary>The delivery service's bound endpoint (after start).</summary>
    public PeerEndpoint Endpoint => _orderer?.Endpoint ?? default;

    private TimeSpan Uptime => _startedAt == 0 ? TimeSpan.Zero : _time.GetElapsedTime(_startedAt);

    /// <summary>Binds, creates the channels, starts cutting and opens the admin port; on failure stops what started and rethrows.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var s = _settings;
        OrdererLog.Starting(_logger, s.OrdererId, s.ListenAddress, s.Channels.Count);
        long begin = _time.GetTimestamp();
        _startedAt = begin;
        try
        {
            var transport = SocketTransport.Create(new TransportOptions { ListenEndpoint = s.ListenAddress, UdpReceiveThread = false }, _loggerFactory);
            _orderer = new Orderer(transport, new OrdererOptions { MaxRetainedBlocks = s.MaxRetainedBlocks }, _time, _loggerFactory.CreateLogger("Engine.Ordering"));
            try
            {
                await _orderer.StartAsync(cancellationToken);
            }
            catch (SocketException e)
            {
                throw new PeerStartException(
                    $"orderer.listenAddress {s.ListenAddress} cannot be bound ({e.SocketErrorCode}): another process holds the port, or the address is not this host's", e);
            }

            foreach (var channel in s.Channels)
            {
                _orderer.CreateChannel(new ChannelConfiguration(channel.Name, channel.Orgs.Select(o => new OrgAnchors(o.Org, o.Anchors))));
                _rates[channel.Name] = channel.BlocksPerSecond;
                if (channel.BlocksPerSecond > 0)
                {
                    _orderer.StartCutting(channel.Name, channel.BlocksPerSecond, channel.BlockBytes);
                }

                if (_logger.IsEnabled(LogLevel.Information))
                {
                    string orgs = string.Join(", ", channel.Orgs.Select(o => o.Anchors.Count == 0 ? o.Org : $"{o.Org} (anchors {string.Join(' ', o.Anchors)})"));
                    string cutting = channel.BlocksPerSecond > 0
                        ? string.Create(CultureInfo.InvariantCulture, $"{channel.BlocksPerSecond} block(s) of {channel.BlockBytes} bytes per second")
                        : "only on demand (Engine.Peer orderer cut)";
                    OrdererLog.ChannelServed(_logger, s.OrdererId, channel.Name, _orderer.Endpoint, orgs, cutting);
                }
            }

            if (s.AdminEnabled)
            {
                _admin = new AdminServer(s.AdminListenAddress, Handle, AdminProtocol.OrdererCommands, _loggerFactory.CreateLogger("Engine.Peer.Admin"), _time);
                try
                {
                    _admin.Start();
                }
                catch (SocketException e)
                {
                    throw new PeerStartException(
                        $"admin.listenAddress {s.AdminListenAddress} cannot be bound ({e.SocketErrorCode}): set admin.listenAddress to a free port, or admin.enabled: false", e);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            OrdererLog.StartFailed(_logger, s.OrdererId, e.Message);
            await StopCoreAsync(log: false);
            throw;
        }

        long elapsedMs = (long)_time.GetElapsedTime(begin).TotalMilliseconds;
        OrdererLog.Started(_logger, s.OrdererId, elapsedMs, _orderer.Endpoint);
    }

    /// <summary>Answers an admin request: status, cut (a block on demand), anchors (a config block with an org's anchors replaced).</summary>
    internal AdminResponse Handle(AdminRequest request)
    {
        var orderer = _orderer ?? throw new AdminRequestException("the orderer is not running");
        switch (request.Command)
        {
            case AdminProtocol.CutCommand:
                {
                    string channel = ChannelOf(request);
                    int bytes = request.Bytes ?? _settings.Channels.First(c => c.Name == channel).BlockBytes;
                    if (bytes is < 0 or > 64 * 1024 * 1024)
                    {
                        throw new AdminRequestException($"bytes must be between 0 and {64 * 1024 * 1024}, was {bytes}");
                    }

                    // As the library's rate cutter does: the first 8 bytes are the cut time (UTC ticks, big-endian), so peers can measure latency.
                    byte[] content = new byte[bytes];
                    if (bytes >= 8)
                    {
                        BinaryPrimitives.WriteInt64BigEndian(content, _time.GetUtcNow().UtcTicks);
                    }

                    ulong number = orderer.CutBlock(channel, content);
                    OrdererLog.CutOnDemand(_logger, _settings.OrdererId, number, channel, bytes);
                    return new AdminResponse(true, null, null, Block: number);
                }

            case AdminProtocol.AnchorsCommand:
                {
                    string channel = ChannelOf(request);
                    string org = request.Org ?? throw new AdminRequestException("no \"org\": name the org whose anchor peers change");
                    if (!orderer.Config(channel).HasOrg(org))
                    {
                        throw new AdminRequestException($"channel {channel} has no org '{org}'; its orgs: {string.Join(", ", orderer.Config(channel).Orgs.Select(o => o.OrgId))}");
                    }

                    var anchors = new List<PeerEndpoint>();
                    foreach (string text in request.Anchors ?? [])
                    {
                        if (!PeerEndpoint.TryParse(text, out var anchor, out string? why))
                        {
                            throw new AdminRequestException($"anchor peer '{text}' is not host:port: {why}");
                        }

                        anchors.Add(anchor);
                    }

                    ulong number;
                    try
                    {
                        number = orderer.UpdateAnchors(channel, org, anchors);
                    }
                    catch (ArgumentException e)
                    {
                        throw new AdminRequestException($"the anchor update is not valid: {e.Message}", e);
                    }

                    string list = string.Join(' ', anchors);
                    OrdererLog.AnchorsUpdated(_logger, _settings.OrdererId, org, channel, list, number);
                    return new AdminResponse(true, null, null, Block: number);
                }

            default:
                return new AdminResponse(true, null, null, GetStatus());
        }
    }

    private string ChannelOf(AdminRequest request)
    {
        string channel = request.Channel ?? throw new AdminRequestException("no \"channel\": name the channel");
        return _rates.ContainsKey(channel)
            ? channel
            : throw new AdminRequestException($"this orderer serves no channel '{channel}'; it serves {string.Join(", ", _rates.Keys)}");
    }

    /// <summary>The orderer's status, as the admin port serves it.</summary>
    public OrdererStatus GetStatus()
    {
        var orderer = _orderer;
        var channels = new List<OrdererChannelStatus>();
        if (orderer is not null)
        {
            foreach (string channel in orderer.ChannelIds)
            {
                var config = orderer.Config(channel);
                channels.Add(new OrdererChannelStatus(channel, orderer.Height(channel), _rates.GetValueOrDefault(channel),
                    [.. config.Orgs.Select(o => new OrdererOrgStatus(o.OrgId, [.. o.AnchorPeers.Select(a => a.ToString())]))],
                    [.. orderer.StreamOrgs(channel).Select(st => new OrdererStreamStatus(st.Peer.ToString(), st.Org))]));
            }
        }

        var stats = orderer?.GetStatistics() ?? default;
        CounterStatus[] counters =
        [
            new("blocksCut", stats.BlocksCut),
            new("deliveries", stats.Deliveries),
            new("sendFailures", stats.SendFailures),
            new("streamsOpened", stats.StreamsOpened),
            new("streamsClosed", stats.StreamsClosed),
            new("refused", stats.Refused),
            new("openStreams", stats.OpenStreams),
            new("adminRequests", _admin?.Requests ?? 0),
        ];
        return new OrdererStatus(_settings.OrdererId, orderer?.Endpoint.ToString() ?? "", orderer is not null && Volatile.Read(ref _stopped) == 0,
            Math.Round(Uptime.TotalSeconds, 3), channels, counters);
    }

    /// <summary>Closes the admin port and the orderer (its streams end), then writes the final line; idempotent.</summary>
    public async Task StopAsync(string reason)
    {
        if (Volatile.Read(ref _stopped) != 0)
        {
            return;
        }

        OrdererLog.Stopping(_logger, _settings.OrdererId, reason);
        await StopCoreAsync(log: true);
    }

    private async Task StopCoreAsync(bool log)
    {
        var status = GetStatus();
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        if (_orderer is not null)
        {
            await _orderer.DisposeAsync();
        }

        if (log && _logger.IsEnabled(LogLevel.Information))
        {
            string heights = status.Channels.Count == 0 ? "none" : string.Join(", ", status.Channels.Select(c => $"{c.Channel}={c.Height}"));
            var c = status.Counters.ToDictionary(c => c.Name, c => c.Value);
            string uptime = PeerHost.FormatUptime(Uptime);
            long cut = c["blocksCut"], deliveries = c["deliveries"], failures = c["sendFailures"], opened = c["streamsOpened"], refused = c["refused"];
            OrdererLog.Stopped(_logger, _settings.OrdererId, uptime, heights, cut, deliveries, failures, opened, refused);
        }
    }

    public async ValueTask DisposeAsync() => await StopCoreAsync(log: false);
}
