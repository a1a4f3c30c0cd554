using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Engine.Peer.Admin;
using Engine.Peer.Configuration;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Peer.Hosting;

/// <summary>
/// One peer process's life: log the configuration, start the node, open the admin port, and on stop close both and
/// write a final line with uptime and counts.
/// </summary>
internal sealed class PeerHost : IAsyncDisposable
{
    private readonly PeerSettings _settings;
    private readonly IPeerRuntime _runtime;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private AdminServer? _admin;
    private long _startedAt;
    private int _stopped;

    public PeerHost(PeerSettings settings, IPeerRuntime runtime, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        _settings = settings;
        _runtime = runtime;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Engine.Peer");
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The admin port's bound endpoint, when it is open.</summary>
    public PeerEndpoint? AdminEndpoint => _admin?.LocalEndpoint;

    public TimeSpan Uptime => _startedAt == 0 ? TimeSpan.Zero : _time.GetElapsedTime(_startedAt);

    /// <summary>Starts the node and the admin port; on failure everything started is stopped again and the error rethrown.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var s = _settings;
        var sources = s.Sources.Values.Select(v => v.StartsWith("environment variable", StringComparison.Ordinal) ? "environment"
            : v.Contains(':', StringComparison.Ordinal) ? v[..v.IndexOf(':', StringComparison.Ordinal)] : v).Distinct().ToList();
        string bootstrap = string.Join(' ', s.Gossip.BootstrapPeers);
        string from = sources.Count == 0 ? "defaults only" : string.Join(", ", sources);
        PeerLog.Starting(_logger, s.PeerId, s.Gossip.OrgId, s.Gossip.Endpoint, s.EffectiveListenAddress, bootstrap, from);
        foreach (var key in ConfigSchema.Keys)
        {
            if (s.Sources.TryGetValue(key.Path, out string? source))
            {
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    string value = key.Read(s);
                    PeerLog.ConfigValue(_logger, key.Path, value, source);
                }

                if (key.NotInEffect is { } why)
                {
                    PeerLog.NotInEffect(_logger, key.Path, source, why);
                }
            }
        }

        long begin = _time.GetTimestamp();
        _startedAt = begin;
        try
        {
            try
            {
                await _runtime.StartAsync(cancellationToken);
            }
            catch (SocketException e)
            {
                string key = s.ListenAddress.IsEmpty ? "gossip.endpoint" : "peer.listenAddress";
                throw new PeerStartException(
                    $"{key} {s.EffectiveListenAddress} cannot be bound ({e.SocketErrorCode}): another process holds the port, or the address is not this host's; set {key} to a free port", e);
            }

            if (s.AdminEnabled)
            {
                _admin = new AdminServer(s.AdminListenAddress, GetStatus, _loggerFactory.CreateLogger("Engine.Peer.Admin"), _time);
                try
                {
                    _admin.Start();
                }
                catch (SocketException e)
                {
                    throw new PeerStartException(
                        $"admin.listenAddress {s.AdminListenAddress} cannot be bound ({e.SocketErrorCode}): set admin.listenAddress to a free port, or admin.enabled=false", e);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            PeerLog.StartFailed(_logger, s.PeerId, e.Message);
            await StopCoreAsync(log: false);
            throw;
        }

        var snapshot = _runtime.GetSnapshot();
        long elapsedMs = (long)_time.GetElapsedTime(begin).TotalMilliseconds;
        PeerLog.Started(_logger, s.PeerId, elapsedMs, snapshot.Endpoint, snapshot.PkiId);
    }

    /// <summary>The status the admin port serves.</summary>
    public PeerStatus GetStatus()
    {
        var snapshot = _runtime.GetSnapshot();
        return new PeerStatus(_settings.PeerId, snapshot.Org, snapshot.Endpoint, snapshot.PkiId, snapshot.Running,
            Math.Round(Uptime.TotalSeconds, 3), snapshot.Members, WithAdminCounters(snapshot.Counters), snapshot.Channels ?? []);
    }

    private IReadOnlyList<CounterStatus> WithAdminCounters(IReadOnlyList<CounterStatus> counters) =>
        _admin is null ? counters : [.. counters, new CounterStatus("adminRequests", _admin.Requests)];

    /// <summary>Closes the admin port, stops the node, and writes the final line; idempotent.</summary>
    public async Task StopAsync(string reason)
    {
        if (Volatile.Read(ref _stopped) != 0)
        {
            return;
        }

        PeerLog.Stopping(_logger, _settings.PeerId, reason);
        await StopCoreAsync(log: true);
    }

    private async Task StopCoreAsync(bool log)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        var uptime = Uptime;
        long adminRequests = _admin?.Requests ?? 0;
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        RuntimeSnapshot? before = null;
        try
        {
            before = _runtime.GetSnapshot();
            await _runtime.StopAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            PeerLog.StopFailed(_logger, _settings.PeerId, e);
        }

        if (!log)
        {
            return;
        }

        var after = _runtime.GetSnapshot();
        int alive = before?.Members.Count(m => m.State == "alive") ?? 0;
        int dead = before?.Members.Count(m => m.State != "alive") ?? 0;
        var counters = after.Counters.Select(c => $"{c.Name}={c.Value.ToString(CultureInfo.InvariantCulture)}")
            .Append($"adminRequests={adminRequests.ToString(CultureInfo.InvariantCulture)}")
            .Concat((before?.Channels ?? []).Select(c => $"{c.Channel}.height={c.Height.ToString(CultureInfo.InvariantCulture)}{(c.IsLeader ? " (leader)" : "")}"));
        string uptimeText = FormatUptime(uptime);
        string counterText = string.Join(", ", counters);
        PeerLog.Stopped(_logger, _settings.PeerId, uptimeText, alive, dead, counterText);
    }

    internal static string FormatUptime(TimeSpan uptime) =>
        uptime.TotalHours >= 1
            ? $"{(int)uptime.TotalHours}h{uptime.Minutes:D2}m{uptime.Seconds:D2}s"
            : uptime.TotalMinutes >= 1 ? $"{uptime.Minutes}m{uptime.Seconds:D2}s" : $"{uptime.TotalSeconds:0.0}s";

    public async ValueTask DisposeAsync()
    {
        await StopCoreAsync(log: false);
        await _runtime.DisposeAsync();
    }
}

/// <summary>The peer could not start; the message says what to change.</summary>
internal sealed class PeerStartException : Exception
{
    public PeerStartException()
    {
    }

    public PeerStartException(string message)
        : base(message)
    {
    }

    public PeerStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
