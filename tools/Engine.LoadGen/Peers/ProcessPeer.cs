using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Engine.LoadGen.Verbs;
using Engine.Membership;
using Engine.Node;
using Engine.Peer.Admin;
using Engine.Transport;

namespace Engine.LoadGen.Peers;

/// <summary>
/// A peer that runs as its own Engine.Peer OS process on loopback — the realistic deployment shape. The load generator
/// passes it its configuration on the command line (<c>--set</c>), watches it through its local admin port (a status poll
/// every 200 ms, from which membership changes are derived), and never leaves it behind: the process gets
/// <c>--parent-pid</c> and stops by itself if the load generator dies, and <see cref="StopAsync"/> sends SIGTERM, then kills
/// whatever has not exited within 5 s. The same launcher runs an Engine.Peer <c>orderer</c> process
/// (<see cref="StartOrdererAsync"/>), watched and stopped the same way.
/// </summary>
internal sealed partial class ProcessPeer : IScenarioPeer, IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Every peer process launched and not yet disposed: killed when this process exits, whatever the path out.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<ProcessPeer, byte> Live = new();

    static ProcessPeer() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var peer in Live.Keys)
        {
            peer.Dispose();
        }
    };
    private readonly Process _process;
    private readonly PeerEndpoint _admin;
    private readonly Action<MembershipChangedEvent>? _onChanged;
    private readonly Lock _applyGate = new();
    private readonly CancellationTokenSource _stopPolling = new();
    private readonly Dictionary<string, string> _states = new(StringComparer.Ordinal);
    private readonly Queue<string> _lastErrors = new();
    private Task _polling = Task.CompletedTask;
    private int _alive;
    private int _suspect;
    private int _dead;
    private long _datagrams;
    private long _bytes;
    private volatile bool _answered;
    private volatile Engine.Peer.Hosting.PeerStatus? _status;
    private volatile Engine.Peer.Ordering.OrdererStatus? _ordererStatus;
    private int _disposed;

    private ProcessPeer(Process process, string name, PeerEndpoint endpoint, PeerEndpoint admin, Action<MembershipChangedEvent>? onChanged)
    {
        _process = process;
        Name = name;
        Endpoint = endpoint;
        _admin = admin;
        _onChanged = onChanged;
    }

    /// <summary>The name it was launched under (its peer.id, or the orderer's).</summary>
    public string Name { get; }

    /// <summary>Its local admin port.</summary>
    public PeerEndpoint Admin => _admin;

    /// <summary>A peer's status as last read from its admin port (every 200 ms, or by <see cref="RefreshAsync"/>); null before the first answer.</summary>
    public Engine.Peer.Hosting.PeerStatus? Status => _status;

    /// <summary>An orderer's status as last read from its admin port; null for a peer.</summary>
    public Engine.Peer.Ordering.OrdererStatus? OrdererStatus => _ordererStatus;

    public PeerEndpoint Endpoint { get; }

    public int AliveCount => Volatile.Read(ref _alive);

    public int SuspectCount => Volatile.Read(ref _suspect);

    public int DeadCount => Volatile.Read(ref _dead);

    public (long Datagrams, long Bytes) Sent => (Interlocked.Read(ref _datagrams), Interlocked.Read(ref _bytes));

    public (long Answered, long Agreed, long EntriesSent, long EntriesLearned)? SyncAnswers => null;

    public int? ProcessId => _process.Id;

    /// <summary>The Engine.Peer executable beside the load generator (the project references it).</summary>
    public static string Executable => Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "Engine.Peer.exe" : "Engine.Peer");

    /// <summary>
    /// Launches one peer and waits until its admin port answers. <paramref name="endpoint"/> empty picks a free port pair.
    /// </summary>
    public static Task<ProcessPeer> StartAsync(string name, string pkiIdHex, PeerEndpoint endpoint, PeerEndpoint bootstrap,
        TimeSpan aliveInterval, Action<MembershipChangedEvent> onChanged, CancellationToken cancellationToken)
    {
        var sets = new List<string>
        {
            $"peer.pkiId={pkiIdHex}",
            $"gossip.aliveTimeInterval={Ms(aliveInterval)}",
            $"gossip.aliveExpirationTimeout={Ms(aliveInterval * 5)}",
            $"gossip.reconnectInterval={Ms(aliveInterval * 5)}",
            "log.level=warning",
        };
        if (!bootstrap.IsEmpty)
        {
            sets.Add($"gossip.bootstrap={bootstrap}");
        }

        return StartPeerAsync(name, endpoint, sets, onChanged, onOutput: null, cancellationToken);
    }

    /// <summary>
    /// Launches one peer configured by <paramref name="sets"/> (<c>--set key=value</c> each; its id, endpoint and admin port
    /// are added here) and waits until its admin port answers. <paramref name="endpoint"/> empty picks a free port pair.
    /// <paramref name="onOutput"/> gets each line the peer writes to stdout (its log), when given.
    /// </summary>
    public static Task<ProcessPeer> StartPeerAsync(string name, PeerEndpoint endpoint, IEnumerable<string> sets,
        Action<MembershipChangedEvent>? onChanged, Action<string>? onOutput, CancellationToken cancellationToken)
    {
        endpoint = endpoint.IsEmpty ? PeerEndpoint.Loopback(LoopbackPorts.Free()) : endpoint;
        var admin = PeerEndpoint.Loopback(LoopbackPorts.Free());
        var arguments = new List<string>();
        foreach (string set in (string[])[$"peer.id={name}", $"gossip.endpoint={endpoint}", "admin.enabled=true", $"admin.listenAddress={admin}",
            "transport.udpReceiveThread=false", .. sets])
        {
            arguments.Add("--set");
            arguments.Add(set);
        }

        return LaunchAsync(name, arguments, endpoint, admin, onChanged, onOutput, cancellationToken);
    }

    /// <summary>
    /// Launches an Engine.Peer <c>orderer</c> process from <paramref name="configPath"/>, whose orderer.listenAddress is
    /// <paramref name="endpoint"/> and admin.listenAddress <paramref name="admin"/>, and waits until its admin port answers.
    /// </summary>
    public static Task<ProcessPeer> StartOrdererAsync(string name, string configPath, PeerEndpoint endpoint, PeerEndpoint admin,
        Action<string>? onOutput, CancellationToken cancellationToken) =>
        LaunchAsync(name, ["orderer", "--config", configPath], endpoint, admin, onChanged: null, onOutput, cancellationToken);

    private static async Task<ProcessPeer> LaunchAsync(string name, IReadOnlyList<string> arguments, PeerEndpoint endpoint, PeerEndpoint admin,
        Action<MembershipChangedEvent>? onChanged, Action<string>? onOutput, CancellationToken cancellationToken)
    {
        if (!File.Exists(Executable))
        {
            throw new FileNotFoundException($"Engine.Peer is not built beside the load generator ({Executable})");
        }

        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add("--parent-pid");
        start.ArgumentList.Add(Environment.ProcessId.ToString(CultureInfo.InvariantCulture));

        // The load generator's own ENGINE_* variables must not configure the peers behind its back.
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("ENGINE_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var peer = new ProcessPeer(process, name, endpoint, admin, onChanged);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                onOutput?.Invoke(line);
            }
        };
        process.ErrorDataReceived += (_, e) => peer.KeepError(e.Data);
        process.Start();
        Live[peer] = 0;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        peer._polling = peer.PollAsync();

        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!peer._answered)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"{name} exited with code {process.ExitCode} before it answered: {peer.LastErrors()}");
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"{name} did not answer on its admin port {admin} within 30 s: {peer.LastErrors()}");
                }

                await Task.Delay(20, cancellationToken);
            }
        }
        catch
        {
            // Never leave a half-started peer behind (a timeout, a cancelled run, a crash at start).
            await peer.StopAsync();
            throw;
        }

        return peer;
    }

    /// <summary>Reads its status now (rather than at the next poll); false when the admin port did not answer within 2 s.</summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(TimeSpan.FromSeconds(2));
            Apply(await AdminClient.SendAsync(_admin, new AdminRequest(AdminProtocol.StatusCommand), attempt.Token));
            return true;
        }
        catch (Exception e) when (e is AdminException or SocketException or IOException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary>Sends one admin request (an orderer's <c>cut</c> or <c>anchors</c>); throws <see cref="AdminException"/> saying what failed.</summary>
    public async Task<AdminResponse> AskAsync(AdminRequest request, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            return await AdminClient.SendAsync(_admin, request, attempt.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AdminException($"{Name}'s admin port at {_admin} did not answer '{request.Command}' within 5 s");
        }
    }

    private static string Ms(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{(long)t.TotalMilliseconds}ms");

    public async ValueTask CrashAsync()
    {
        await _stopPolling.CancelAsync();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        await _polling;
        Dispose();
    }

    public async ValueTask StopAsync()
    {
        await _stopPolling.CancelAsync();
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, SigTerm);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        await _polling;
        Dispose();
    }

    /// <summary>Kills the process if it still runs (the last resort; <see cref="StopAsync"/> is the clean way) and frees handles.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Live.TryRemove(this, out _);

        _stopPolling.Cancel();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }

        _process.Dispose();
        _stopPolling.Dispose();
    }

    private async Task PollAsync()
    {
        using var timer = new PeriodicTimer(PollInterval);
        try
        {
            do
            {
                try
                {
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(_stopPolling.Token);
                    attempt.CancelAfter(TimeSpan.FromSeconds(2));
                    Apply(await AdminClient.SendAsync(_admin, new AdminRequest(AdminProtocol.StatusCommand), attempt.Token));
                }
                catch (Exception e) when (e is AdminException or OperationCanceledException or SocketException or IOException)
                {
                    // Not up yet, or gone: the counts stay as last seen.
                }
            }
            while (await timer.WaitForNextTickAsync(_stopPolling.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Apply(AdminResponse response)
    {
        if (response.Orderer is { } orderer)
        {
            _ordererStatus = orderer;
            _answered = true;
        }
        else if (response.Status is { } status)
        {
            lock (_applyGate)
            {
                Apply(status);
            }

            _status = status;
            _answered = true;
        }
    }

    private void Apply(Engine.Peer.Hosting.PeerStatus status)
    {
        int alive = 0, suspect = 0, dead = 0;
        foreach (var m in status.Members)
        {
            bool isAlive = m.State == "alive";
            bool isSuspect = m.State == "suspect";
            alive += isAlive ? 1 : 0;
            suspect += isSuspect ? 1 : 0;
            dead += isAlive || isSuspect ? 0 : 1;
            _states.TryGetValue(m.PkiId, out string? before);
            if (before != m.State)
            {
                _states[m.PkiId] = m.State;
                if (!isSuspect) // as in process: a suspicion is not a view change
                {
                    _onChanged?.Invoke(new MembershipChangedEvent(m.PkiId, PeerEndpoint.Parse(m.Endpoint), m.Org, isAlive ? MemberState.Alive : MemberState.Dead, false));
                }
            }
        }

        foreach (var c in status.Counters)
        {
            if (c.Name == "datagramsSent")
            {
                Interlocked.Exchange(ref _datagrams, c.Value);
            }
            else if (c.Name == "bytesSent")
            {
                Interlocked.Exchange(ref _bytes, c.Value);
            }
        }

        Volatile.Write(ref _alive, alive);
        Volatile.Write(ref _suspect, suspect);
        Volatile.Write(ref _dead, dead);
    }

    private void KeepError(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lastErrors)
        {
            _lastErrors.Enqueue(line);
            if (_lastErrors.Count > 5)
            {
                _lastErrors.Dequeue();
            }
        }
    }

    private string LastErrors()
    {
        lock (_lastErrors)
        {
            return _lastErrors.Count == 0 ? "(no output)" : string.Join(" | ", _lastErrors);
        }
    }

    private const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
