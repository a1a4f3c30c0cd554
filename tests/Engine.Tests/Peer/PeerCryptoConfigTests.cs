using Engine.Peer.Configuration;
using Engine.Security;

namespace Engine.Tests.Peer;

/// <summary>The peer tool's crypto keys: material written by <c>certs</c> turns on signing, and TLS when asked; bad paths are named.</summary>
public sealed class PeerCryptoConfigTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"engine-peer-crypto-{Guid.NewGuid():N}");

    public PeerCryptoConfigTests() => CryptoMaterial.Generate(_dir, BothOrgs, 1);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] BothOrgs = ["Org1", "Org2"];

    private static PeerSettings Load(params string[] sets) => PeerConfigLoader.Load(null, null, sets);

    private string PeerDir => CryptoMaterial.PeerDirectory(_dir, "Org1", "peer0.Org1");

    [Test]
    public void MspConfigPathSignsAndTrustsTheOrgsOfItsMaterial_TlsWhenEnabled()
    {
        var s = Load($"peer.mspConfigPath={PeerDir}", "peer.tls.enabled=true");
        s.LoadCryptoMaterial();
        Assert.That(s.Gossip.Credential!.OrgId, Is.EqualTo("Org1"));
        Assert.That(s.Gossip.TrustStore!.Orgs, Is.EquivalentTo(BothOrgs));
        Assert.That(s.Gossip.Transport.Security!.Credential, Is.SameAs(s.Gossip.Credential));
        Assert.DoesNotThrow(s.Gossip.Validate);
        s.Gossip.Credential.Dispose();
    }

    [Test]
    public void WithoutTlsOnlySigning_AndWithoutMaterialNothing()
    {
        var signed = Load($"peer.mspConfigPath={PeerDir}", $"peer.cryptoDir={_dir}");
        signed.LoadCryptoMaterial();
        Assert.That(signed.Gossip.Credential, Is.Not.Null);
        Assert.That(signed.Gossip.Transport.Security, Is.Null);
        signed.Gossip.Credential!.Dispose();

        var plain = Load();
        plain.LoadCryptoMaterial();
        Assert.That(plain.Gossip.Credential, Is.Null);
    }

    [Test]
    public void MissingFilesAndTlsWithoutACertificateAreNamed()
    {
        var missing = Load($"peer.mspConfigPath={Path.Combine(_dir, "nope")}");
        var e = Assert.Throws<ArgumentException>(missing.LoadCryptoMaterial)!;
        Assert.That(e.Message, Does.StartWith("peer.mspConfigPath"));

        var tls = Load("peer.tls.enabled=true");
        Assert.That(Assert.Throws<ArgumentException>(tls.LoadCryptoMaterial)!.Message, Does.Contain("needs peer.mspConfigPath"));

        var wrongOrg = Load($"peer.mspConfigPath={PeerDir}", "peer.localMspId=Org2");
        wrongOrg.LoadCryptoMaterial();
        Assert.That(Assert.Throws<ArgumentException>(wrongOrg.Gossip.Validate)!.Message, Does.Contain("credential's org"));
        wrongOrg.Gossip.Credential!.Dispose();
    }
}
