using System.Globalization;
using System.Text.Json.Nodes;

namespace Engine.Tests.LoadGen;

/// <summary>The load generator's in-memory runs as a user starts them (a process of its own; no sockets).</summary>
public sealed class LoadGenMemoryTests
{
    /// <summary>
    /// The membership verb on the in-memory network with its default 1 ms delay runs the peers in parallel windows: with
    /// one thread or two, every virtual-time result is the same (the CPU, memory and collector figures are the machine's).
    /// </summary>
    [Test]
    [CancelAfter(120_000)]
    public async Task Membership_in_parallel_virtual_time_gives_the_same_result_on_one_thread_or_two(CancellationToken cancellationToken)
    {
        async Task<JsonObject> RunAsync(int threads)
        {
            string json = Path.Combine(Path.GetTempPath(), $"engine-parallel-{Guid.NewGuid():N}.json");
            try
            {
                using var loadgen = LoadGenProcessTests.StartLoadGen("membership", "--network", "memory", "--peers", "60", "--heartbeat", "swim", "--seed", "3",
                    "--threads", threads.ToString(CultureInfo.InvariantCulture), "--json", json);
                string output = await loadgen.StandardOutput.ReadToEndAsync(cancellationToken);
                await loadgen.WaitForExitAsync(cancellationToken);
                Assert.That(loadgen.ExitCode, Is.Zero, output);
                Assert.That(output, Does.Contain($"1 ms delay, parallel windows on {threads} threads"), output);
                return JsonNode.Parse(await File.ReadAllTextAsync(json, cancellationToken))!.AsObject();
            }
            finally
            {
                File.Delete(json);
            }
        }

        var one = await RunAsync(1);
        var two = await RunAsync(2);
        string[] machine = ["threads", "cpu_s", "peak_rss_mb", "retained_mb", "retained_bytes_per_member_entry", "gc_pause_s", "gc_gen2", "allocated_mb"];
        Assert.Multiple(() =>
        {
            Assert.That((bool)one["converged"]! && (bool)one["detected"]! && (bool)one["recovered"]!, Is.True, one.ToJsonString());
            Assert.That((double)one["latency_ms"]!, Is.EqualTo(1));
            foreach (var (key, value) in one.Where(p => !machine.Contains(p.Key)))
            {
                Assert.That(two[key]?.ToJsonString(), Is.EqualTo(value?.ToJsonString()), key);
            }
        });
    }
}
