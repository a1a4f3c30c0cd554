using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Engine.Transport;

namespace Engine.Tests.Peer;

/// <summary>
/// An Engine.Peer OS process started from the test's output folder (the test project references the tool), its output
/// collected line by line so a test can wait for a line with a deadline instead of sleeping. Killed on dispose if still running.
/// </summary>
internal sealed partial class PeerProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _out = new();
    private readonly ConcurrentQueue<string> _err = new();
    private readonly SemaphoreSlim _lineArrived = new(0);

    private PeerProcess(Process process)
    {
        _process = process;
    }

    public static PeerProcess Start(params string[] args)
    {
        string dir = AppContext.BaseDirectory;
        var start = new ProcessStartInfo(Path.Combine(dir, OperatingSystem.IsWindows() ? "Engine.Peer.exe" : "Engine.Peer"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = dir,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // The test's own environment must not configure the peer behind the test's back.
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("ENGINE_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var peer = new PeerProcess(process);
        process.OutputDataReceived += (_, e) => peer.Add(peer._out, e.Data);
        process.ErrorDataReceived += (_, e) => peer.Add(peer._err, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return peer;
    }

    private void Add(ConcurrentQueue<string> queue, string? line)
    {
        if (line is not null)
        {
            queue.Enqueue(line);
            _lineArrived.Release();
        }
    }

    public string Output => string.Join('\n', _out);

    public string Error => string.Join('\n', _err);

    public int Id => _process.Id;

    /// <summary>Waits until a stdout line matches; returns the match, or fails the test with what was printed.</summary>
    public async Task<Match> WaitForLineAsync(Regex pattern, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            foreach (string line in _out)
            {
                var m = pattern.Match(line);
                if (m.Success)
                {
                    return m;
                }
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || _process.HasExited && !await _lineArrived.WaitAsync(100, cancellationToken))
            {
                Assert.Fail($"no line matching /{pattern}/ within {timeout}; exited: {_process.HasExited}\nstdout:\n{Output}\nstderr:\n{Error}");
            }

            await _lineArrived.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }

    /// <summary>Waits for the process to exit; returns its exit code, or fails the test.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Assert.Fail($"the peer did not exit within {timeout}\nstdout:\n{Output}\nstderr:\n{Error}");
        }

        _process.WaitForExit(); // drains the output handlers
        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM (or SIGINT), as an operator's `kill` or Ctrl-C does.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
        })!;
        kill.WaitForExit();
        Assert.That(kill.ExitCode, Is.Zero, $"kill -{signal} {_process.Id} failed");
    }

    /// <summary>The admin endpoint the peer logged (it binds port 0 in tests).</summary>
    public async Task<PeerEndpoint> AdminEndpointAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var m = await WaitForLineAsync(AdminLine(), timeout, cancellationToken);
        return PeerEndpoint.Parse(m.Groups[1].Value);
    }

    [GeneratedRegex(@"Admin port listening on (\S+) ")]
    private static partial Regex AdminLine();

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        _lineArrived.Dispose();
    }
}
