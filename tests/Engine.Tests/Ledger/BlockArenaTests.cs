using Engine.Ledger;

namespace Engine.Tests.Ledger;

/// <summary>The ledger's native block memory: blocks packed into chunks, chunks reused once their blocks are freed.</summary>
public sealed class BlockArenaTests
{
    [Test]
    public void BlocksFillAChunkInTurn_KeepTheirBytes_AndAFullyFreedChunkIsReused()
    {
        var arena = new BlockArena();
        var blocks = new List<(BlockMemory Memory, byte[] Bytes)>();
        var random = new Random(7);
        for (int i = 0; i < 100; i++) // 100 x 64 KiB: four chunks
        {
            var bytes = new byte[65536 + random.Next(1000)];
            random.NextBytes(bytes);
            blocks.Add((arena.Store(bytes), bytes));
        }

        Assert.That(blocks.Select(b => b.Memory.Chunk).Distinct().Count(), Is.EqualTo(4));
        foreach (var (memory, bytes) in blocks)
        {
            Assert.That(BlockArena.Bytes(memory, bytes.Length).SequenceEqual(bytes), Is.True);
        }

        // Free the first chunk's blocks (oldest first, as the archive does): the chunk goes back and the next chunk taken is it.
        var first = blocks[0].Memory.Chunk;
        foreach (var (memory, _) in blocks.Where(b => b.Memory.Chunk == first))
        {
            BlockArena.Free(memory);
        }

        var later = new BlockArena();
        var reused = later.Store(new byte[10]);
        Assert.That(reused.Chunk, Is.SameAs(first), "the freed chunk was taken from the pool, not mapped anew");
        foreach (var (memory, bytes) in blocks.Where(b => b.Memory.Chunk != first))
        {
            Assert.That(BlockArena.Bytes(memory, bytes.Length).SequenceEqual(bytes), Is.True, "freeing one chunk's blocks leaves the others intact");
            BlockArena.Free(memory);
        }

        BlockArena.Free(reused);
        arena.Close();
        later.Close();
    }

    [Test]
    public void TheFirstBlockStartsAtTheGivenOffset_SoPeersWithTheSameBlocksNeedNewChunksAtDifferentBlocks()
    {
        var shifted = new BlockArena(firstOffset: BlockArena.ChunkSize - (3 * 65600) + 5);
        var plain = new BlockArena();
        var memories = new List<(BlockMemory Shifted, BlockMemory Plain)>();
        for (int i = 0; i < 4; i++)
        {
            memories.Add((shifted.Store(new byte[65536]), plain.Store(new byte[65536])));
        }

        Assert.Multiple(() =>
        {
            Assert.That(memories[0].Shifted.Offset, Is.EqualTo((BlockArena.ChunkSize - (3 * 65600) + 5) & ~(BlockArena.Alignment - 1)), "aligned down");
            Assert.That(memories[3].Shifted.Chunk, Is.Not.SameAs(memories[0].Shifted.Chunk), "the shifted arena needed its second chunk at the 4th block");
            Assert.That(memories[3].Plain.Chunk, Is.SameAs(memories[0].Plain.Chunk), "the plain one did not");
        });
        foreach (var (a, b) in memories)
        {
            BlockArena.Free(a);
            BlockArena.Free(b);
        }

        shifted.Close();
        plain.Close();
    }

    [Test]
    public void ABlockTooLargeForAChunk_GetsAnArrayOfItsOwn()
    {
        var arena = new BlockArena();
        var bytes = new byte[BlockArena.MaxChunkBlock + 1];
        bytes[^1] = 42;
        var memory = arena.Store(bytes);
        Assert.That(memory.Chunk, Is.Null);
        Assert.That(memory.Array, Is.Not.Null);
        Assert.That(BlockArena.Bytes(memory, bytes.Length)[^1], Is.EqualTo(42));
        BlockArena.Free(memory);
        arena.Close();
    }

    [Test]
    public void APretouchedArena_FillsItsReservedChunksFirst_AndReturnsTheUnusedOnesOnClose()
    {
        var arena = new BlockArena(firstOffset: 4096);
        Assert.That(arena.Pretouch(0), Is.Zero);
        Assert.That(arena.Pretouch((2 * BlockArena.ChunkSize) - 4096), Is.EqualTo(2), "two chunks hold it from the first offset on");
        Assert.That(arena.Pretouch(1), Is.EqualTo(1), "a second call adds to the reserve");
        Assert.That(arena.Reserved, Is.EqualTo(3));

        var first = arena.Store(new byte[65536]);
        Assert.That(arena.Reserved, Is.EqualTo(2), "the first block opened a reserved chunk");
        Assert.That(first.Offset, Is.EqualTo(4096));
        var blocks = new List<BlockMemory> { first };
        while (blocks[^1].Chunk == first.Chunk)
        {
            blocks.Add(arena.Store(new byte[65536]));
        }

        Assert.That(arena.Reserved, Is.EqualTo(1), "the second chunk came from the reserve too");
        foreach (var block in blocks)
        {
            BlockArena.Free(block);
        }

        arena.Close();
        Assert.That(arena.Reserved, Is.Zero, "closing hands the unused reserve back");
        Assert.That(() => arena.Pretouch(-1), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
