using System.Text.Json.Nodes;
using Engine.LoadGen.Verbs;

namespace Engine.Tests.Security;

/// <summary>
/// Every attack of the security issue against a 10-peer signed network (the load generator's hostile verb, whose attacks
/// these are): each attempt refused and counted, no peer's view changed. Message attacks run on the in-memory network in
/// virtual time with the clock held still during delivery, so the counts are exactly the attack's.
/// </summary>
public class HostileAttackTests
{
    private static readonly string[] MessageAttacks =
        ["unknown_org", "untrusted_ca", "foreign_bootstrap", "forged_alive", "replayed_alive", "leadership_non_member", "state_info_foreign_channel", "aftermath"];

    private static readonly string[] ConnectionAttacks =
        ["tls_untrusted_ca", "tls_unknown_org", "tls_expired", "tls_pki_id_mismatch", "plain_tcp", "length_prefix_2gib", "lz4_claims_4gib",
         "unknown_frame_type", "slow_drip", "datagram_64kib", "connection_flood"];

    [Test]
    public async Task EveryMessageAttackIsRefusedAndCountedAndChangesNoView()
    {
        using var material = HostileMaterial.Create();
        await using var attacks = new HostileMemoryAttacks(material);
        Assert.That(await attacks.StartAsync(CancellationToken.None), Is.True, "the 10 peers converge first");
        var results = attacks.Run(rounds: 3);
        Assert.That(results.Select(r => r.Name), Is.EqualTo(MessageAttacks));
        foreach (var r in results)
        {
            Assert.That(r.Refused, Is.EqualTo(r.Attempts), $"{r.Name}: every attempt refused and counted exactly once");
            Assert.That(r.StateChanged, Is.False, $"{r.Name}: no peer's view changed");
        }

        Assert.That(results.Where(r => r.Name != "aftermath").All(r => r.Attempts > 0), Is.True);
        foreach (var node in attacks.Nodes)
        {
            Assert.That(node.Security!.Identities.Count, Is.EqualTo(10), "no attacker identity was learned");
            Assert.That(node.Security.TrackedEnvelopes, Is.LessThanOrEqualTo(9), "no attacker envelope was kept");
        }
    }

    [Test]
    [Category("Sockets")]
    [CancelAfter(240_000)]
    public async Task TheHostileVerbRefusesEveryConnectionAttackTooAndWritesItsJson(CancellationToken cancellationToken)
    {
        string json = Path.Combine(Path.GetTempPath(), $"engine-hostile-{Guid.NewGuid():N}.json");
        try
        {
            using var loadgen = Engine.Tests.LoadGen.LoadGenProcessTests.StartLoadGen("hostile", "--rounds", "2", "--json", json);
            string output = await loadgen.StandardOutput.ReadToEndAsync(cancellationToken);
            await loadgen.WaitForExitAsync(cancellationToken);
            Assert.That(loadgen.ExitCode, Is.Zero, output);
            var result = JsonNode.Parse(await File.ReadAllTextAsync(json, cancellationToken))!;
            var attacks = result["attacks"]!.AsArray();
            Assert.That(attacks.Select(a => (string)a!["name"]!), Is.EqualTo(MessageAttacks.Concat(ConnectionAttacks)), output);
            foreach (var attack in attacks)
            {
                Assert.That((long)attack!["refused"]!, Is.EqualTo((long)attack["attempts"]!), $"{attack["name"]}\n{output}");
                Assert.That((bool)attack["state_changed"]!, Is.False, $"{attack["name"]}\n{output}");
            }

            Assert.That((double)result["memory_growth_mb"]!, Is.LessThan(64), "bounded memory");
        }
        finally
        {
            File.Delete(json);
        }
    }
}
