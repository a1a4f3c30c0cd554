using System.Text.Json.Nodes;

namespace Engine.Tests.Security;

/// <summary>The membership verb with <c>--signing</c>: every peer signs and verifies, and the run reports the crypto cost; without it, the run says signing is off.</summary>
public class SignedMembershipLoadGenTests
{
    [Test]
    [CancelAfter(180_000)]
    public async Task MembershipWithSigningConvergesAndReportsVerificationsAndTheirCpuShare(CancellationToken cancellationToken)
    {
        var (output, result) = await RunAsync(cancellationToken, "--signing");
        Assert.That((bool)result["signing"]!, Is.True, output);
        Assert.That((bool)result["converged"]!, Is.True, output);
        Assert.That((bool)result["recovered"]!, Is.True, output);
        Assert.That((long)result["verifications"]!, Is.GreaterThan(0), output);
        Assert.That((double)result["verifications_per_s"]!, Is.GreaterThan(0), output);
        Assert.That((double)result["verify_cpu_share"]!, Is.InRange(0.0, 1.0), output);
        Assert.That((long)result["verifications_refused"]!, Is.Zero, "honest peers refuse nothing but messages from not yet pulled identities");
        Assert.That(output, Does.Contain("signing: ON"));
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task MembershipWithoutSigningSaysSo(CancellationToken cancellationToken)
    {
        var (output, result) = await RunAsync(cancellationToken);
        Assert.That((bool)result["signing"]!, Is.False, output);
        Assert.That(result.AsObject().ContainsKey("verifications"), Is.False);
        Assert.That(output, Does.Contain("signing: OFF").And.Contain("pure transport/membership"));
    }

    private static async Task<(string Output, JsonNode Result)> RunAsync(CancellationToken cancellationToken, params string[] extra)
    {
        string json = Path.Combine(Path.GetTempPath(), $"engine-signed-membership-{Guid.NewGuid():N}.json");
        try
        {
            using var loadgen = Engine.Tests.LoadGen.LoadGenProcessTests.StartLoadGen(
                ["membership", "--network", "memory", "--peers", "12", "--alive-interval", "1000", "--json", json, .. extra]);
            string output = await loadgen.StandardOutput.ReadToEndAsync(cancellationToken);
            await loadgen.WaitForExitAsync(cancellationToken);
            Assert.That(loadgen.ExitCode, Is.Zero, output);
            return (output, JsonNode.Parse(await File.ReadAllTextAsync(json, cancellationToken))!);
        }
        finally
        {
            File.Delete(json);
        }
    }
}
