using PotPowerShell.Core.Data;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Data;

public class CvatDetectionFileTests
{
    private const string Meta = "<meta><task><size>2</size><labels><label><name>car</name></label><label><name>person</name></label></labels></task></meta>";

    private static string Xml(string images) => $"<?xml version=\"1.0\" encoding=\"utf-8\"?><annotations><version>1.1</version>{Meta}{images}</annotations>";

    [Fact]
    public void BoxesAreReadPerImageWithTheLabelsOfTheMeta()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("a.xml"), Xml("""
            <image id="0" name="frames/a.png" width="40" height="30">
              <box label="person" occluded="0" xtl="1.5" ytl="2" xbr="10" ybr="20.25"></box>
              <box label="car" occluded="1" xtl="0" ytl="0" xbr="5" ybr="5"><attribute name="type">van</attribute></box>
              <box label="bicycle" occluded="0" xtl="0" ytl="0" xbr="1" ybr="1"></box>
              <tag label="bicycle"></tag>
            </image>
            <image id="1" name="b.png"></image>
            """));
        var set = CvatDetectionFile.Read(tmp.File("a.xml"));
        // The name's last part; labels in the meta's order; occluded is difficult; a label of no class is skipped.
        Assert.Equal(new[] { "a.png", "b.png" }, set.Files);
        Assert.Equal(new[] { "car", "person" }, set.Classes);
        Assert.Equal(new[] { new DetectionBox(1, 1.5, 2, 10, 20.25), new DetectionBox(0, 0, 0, 5, 5, Difficult: true) }, set.Annotations[0].Boxes);
        Assert.Equal((40, 30), (set.Annotations[0].ImageWidth, set.Annotations[0].ImageHeight));
        // Without a size the decoded image's is taken.
        Assert.Equal((0, 0, 0), (set.Annotations[1].Boxes.Count, set.Annotations[1].ImageWidth, set.Annotations[1].ImageHeight));

        // A labels file gives the classes (gaps named by their number); labels it does not name are skipped.
        File.WriteAllText(tmp.File("labels.json"), """{"labels": {"person": 3, "car": 1}}""");
        set = CvatDetectionFile.Read(tmp.File("a.xml"), tmp.File("labels.json"));
        Assert.Equal(new[] { "0", "car", "2", "person" }, set.Classes);
        Assert.Equal(new[] { 3, 1 }, set.Annotations[0].Boxes.Select(b => b.Label));
    }

    [Theory]
    [InlineData("<image id=\"0\" name=\"a.png\"><polygon label=\"car\" points=\"0,0;1,1;0,1\"></polygon></image>", "has a <polygon> labelled 'car' in image 'a.png': only boxes are read")]
    [InlineData("<image id=\"0\" name=\"a.png\"><box label=\"car\" xtl=\"x\" ytl=\"0\" xbr=\"1\" ybr=\"1\"></box></image>", "whose xtl is not a number ('x')")]
    [InlineData("<image id=\"0\" name=\"a.png\"><box label=\"car\" xtl=\"1e999\" ytl=\"0\" xbr=\"1\" ybr=\"1\"></box></image>", "whose xtl is not a number")]
    [InlineData("", "has no <image>")]
    [InlineData("<image id=\"0\" name=\"a.png\">", "is not valid XML")]
    public void ProblemsNameTheFileAndWhatIsWrong(string images, string expected)
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("a.xml"), Xml(images));
        var e = Assert.Throws<PotException>(() => CvatDetectionFile.Read(tmp.File("a.xml")));
        Assert.Equal("AnnotationInvalid", e.ErrorId);
        Assert.Contains("The CVAT annotation '", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ADocumentTypeDefinitionAndABadLabelsFileAreRefused()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("a.xml"), "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"xx\">]><annotations>" + Meta + "</annotations>");
        Assert.Contains("is not valid XML", Assert.Throws<PotException>(() => CvatDetectionFile.Read(tmp.File("a.xml"))).Message);
        File.WriteAllText(tmp.File("labels.json"), """{"labels": {"car": -1}}""");
        File.WriteAllText(tmp.File("b.xml"), Xml("<image id=\"0\" name=\"a.png\"></image>"));
        Assert.Contains("gives the label 'car' the class -1", Assert.Throws<PotException>(() => CvatDetectionFile.Read(tmp.File("b.xml"), tmp.File("labels.json"))).Message);
    }
}
