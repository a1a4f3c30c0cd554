using Engine.Security;

namespace Engine.Tests.Security;

public class CryptoMaterialTests
{
    private static readonly string[] Orgs = ["Org1", "Org2"];
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("engine-crypto-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void GeneratesTheDocumentedLayoutAndLoadsItBack()
    {
        var peers = CryptoMaterial.Generate(_dir, Orgs, 2);

        Assert.That(peers, Has.Count.EqualTo(4));
        foreach (string org in Orgs)
        {
            Assert.That(File.Exists(Path.Combine(_dir, org, "ca", "cert.pem")));
            Assert.That(File.Exists(Path.Combine(_dir, org, "ca", "key.pem")));
            for (int i = 0; i < 2; i++)
            {
                string peerDir = Path.Combine(_dir, org, "peers", $"peer{i}.{org}");
                Assert.That(peers, Does.Contain(peerDir));
                Assert.That(File.ReadAllText(Path.Combine(peerDir, "cert.pem")), Does.StartWith("-----BEGIN CERTIFICATE-----"));
                Assert.That(File.ReadAllText(Path.Combine(peerDir, "key.pem")), Does.StartWith("-----BEGIN PRIVATE KEY-----"));
                if (!OperatingSystem.IsWindows())
                {
                    Assert.That(File.GetUnixFileMode(Path.Combine(peerDir, "key.pem")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
                }
            }
        }

        var trust = CryptoMaterial.LoadTrustStore(_dir);
        Assert.That(trust.Orgs, Is.EquivalentTo(Orgs));
        using var peer = CryptoMaterial.LoadPeer(peers[3]);
        Assert.That(peer.OrgId, Is.EqualTo("Org2"));
        Assert.That(trust.Validate(peer.OrgId, peer.Certificate, out string? reason), Is.EqualTo(CertificateVerdict.Trusted), reason);
        using var again = CryptoMaterial.LoadPeer(peers[3]);
        Assert.That(again.PkiId, Is.EqualTo(peer.PkiId), "the PKI-ID is stable across loads");

        // A peer trusting only Org1 refuses Org2's peers.
        var org1Only = CryptoMaterial.LoadTrustStore(_dir, ["Org1"]);
        Assert.That(org1Only.Validate(peer.OrgId, peer.Certificate, out _), Is.EqualTo(CertificateVerdict.UnknownOrg));

        // The CA can issue more peers later, and they are trusted by the stores already handed out.
        using var ca = CryptoMaterial.LoadCertificateAuthority(_dir, "Org1");
        using var late = ca.IssuePeer("peer7.Org1");
        Assert.That(trust.Validate("Org1", late.Certificate, out reason), Is.EqualTo(CertificateVerdict.Trusted), reason);
    }

    [Test]
    public void SignaturesMadeWithLoadedKeysVerifyWithLoadedTrust()
    {
        var peers = CryptoMaterial.Generate(_dir, ["OrgA"], 1);
        using var credential = CryptoMaterial.LoadPeer(peers[0]);
        using var signer = new MessageSigner(credential);
        var verifier = new SignatureVerifier(new IdentityRegistry(CryptoMaterial.LoadTrustStore(_dir)), new VerifiedMessageCache(64), new Engine.Tests.Transport.Udp.CapturingLogger());
        byte[] alive = SecurityTestKit.Alive(signer, 1, 1, credential.Identity);
        Assert.That(verifier.Verify(alive, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Verified));
    }

    [Test]
    public void ExistingMaterialIsNeverOverwrittenAndBadArgumentsAreRefused()
    {
        CryptoMaterial.Generate(_dir, ["Org1"], 1);
        string before = File.ReadAllText(Path.Combine(_dir, "Org1", "ca", "cert.pem"));
        Assert.Throws<IOException>(() => CryptoMaterial.Generate(_dir, ["Org2", "Org1"], 1));
        Assert.That(File.ReadAllText(Path.Combine(_dir, "Org1", "ca", "cert.pem")), Is.EqualTo(before));
        Assert.That(Directory.Exists(Path.Combine(_dir, "Org2")), Is.False, "arguments are checked before anything is written");
        Assert.Throws<ArgumentException>(() => CryptoMaterial.Generate(_dir, ["Org3", "org3"], 1));
        Assert.Throws<ArgumentException>(() => CryptoMaterial.Generate(_dir, ["../x"], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => CryptoMaterial.Generate(_dir, ["Org4"], 0));
        Assert.Throws<DirectoryNotFoundException>(() => CryptoMaterial.LoadTrustStore(Path.Combine(_dir, "missing")));
    }
}
