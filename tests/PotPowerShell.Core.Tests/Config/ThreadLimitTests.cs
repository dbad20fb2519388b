using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Tests.Config;

/// <summary>One thread limit (OrtSessions.MaxThreads) for POT configs, engines and every session the core creates.</summary>
public class ThreadLimitTests
{
    [Theory]
    [InlineData("c.json", "{ \"threads\": 100000 }")]
    [InlineData("c.json", "{ \"threads\": 1025 }")]
    public void Pot_config_threads_beyond_the_limit_are_refused(string name, string paramsJson)
    {
        using var folder = new ConfigTestFolder();
        string path = folder.Write(name, ConfigTestFolder.JsonParams("DefaultQuantization", paramsJson));
        var e = Assert.Throws<PotException>(() => PotConfigLoader.Load(path));
        var problem = Assert.Single(e.GetConfigProblems());
        Assert.Equal("compression.algorithms[0].params.threads", problem.KeyPath);
        Assert.Contains("between 0 and 1024", problem.Message);
    }

    [Fact]
    public void Pot_config_threads_at_the_limit_are_accepted()
    {
        using var folder = new ConfigTestFolder();
        var config = PotConfigLoader.Load(folder.Write("c.json", ConfigTestFolder.JsonParams("DefaultQuantization", "{ \"threads\": 1024 }")));
        Assert.Equal(OrtSessions.MaxThreads, config.Compression.Algorithms[0].Params.Threads);
    }

    [Fact]
    public void Engine_threads_beyond_the_limit_are_refused()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder.File("data"));
        File.WriteAllText(folder.File("e.yml"), "type: simplified\ndata_source: data\nthreads: 100000\n");
        var e = Assert.Throws<PotException>(() => EngineDefinition.Load(folder.File("e.yml")));
        Assert.Equal("EngineInvalid", e.ErrorId);
        Assert.Contains("threads", e.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(100_000)]
    public void Sessions_refuse_a_thread_count_beyond_the_limit(int threads)
    {
        var e = Assert.Throws<PotException>(() => OrtSessions.Options(threads: threads));
        Assert.Equal("ThreadsInvalid", e.ErrorId);
        Assert.Contains("1024", e.Message);
    }
}
