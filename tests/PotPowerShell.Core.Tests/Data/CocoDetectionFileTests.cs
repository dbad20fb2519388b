using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Tests.Data;

public class CocoDetectionFileTests
{
    private static DetectionSet Read(TempFolder tmp, string json)
    {
        File.WriteAllText(tmp.File("instances.json"), json);
        return CocoDetectionFile.Read(tmp.File("instances.json"));
    }

    [Fact]
    public void ImagesAreSortedByIdAndClassesNumberedInCategoryOrder()
    {
        using var tmp = new TempFolder();
        var coco = Read(tmp, """
            {"images": [{"id": 5, "file_name": "b.png", "width": 40, "height": 30}, {"id": 2, "file_name": "a.png", "width": 20, "height": 10}],
             "annotations": [{"image_id": 5, "category_id": 1, "bbox": [1, 2, 3, 4]},
                             {"image_id": 5, "category_id": 9, "bbox": [0, 0, 10, 10], "iscrowd": 4294967296}],
             "categories": [{"id": 9, "name": "cat"}, {"id": 1, "name": "dog"}]}
            """);
        Assert.Equal(new[] { "a.png", "b.png" }, coco.Files);
        Assert.Equal(new[] { "cat", "dog" }, coco.Classes);
        Assert.Empty(coco.Annotations[0].Boxes);
        Assert.Equal((20, 10), (coco.Annotations[0].ImageWidth, coco.Annotations[0].ImageHeight));
        // bbox [x, y, w, h] -> corners; category 1 is the second listed (class 1); a crowd (iscrowd any number but 0,
        // as pycocotools tests it) is marked so.
        Assert.Equal(new[] { new DetectionBox(1, 1, 2, 4, 6), new DetectionBox(0, 0, 0, 10, 10) { Crowd = true } }, coco.Annotations[1].Boxes);
    }

    [Fact]
    public void With_category_ids_each_object_is_of_its_category_id_and_the_classes_run_to_the_largest()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("instances.json"), """
            {"images": [{"id": 1, "file_name": "a.png", "width": 40, "height": 30}],
             "annotations": [{"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4]}, {"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}],
             "categories": [{"id": 3, "name": "cat"}, {"id": 1, "name": "dog"}]}
            """);
        var coco = CocoDetectionFile.Read(tmp.File("instances.json"), categoryIds: true);
        Assert.Equal(new[] { 3, 1 }, coco.Annotations[0].Boxes.Select(b => b.Label));
        Assert.Equal(new[] { "0", "dog", "2", "cat" }, coco.Classes);
        // In category order they are the first and second class.
        Assert.Equal(new[] { 0, 1 }, CocoDetectionFile.Read(tmp.File("instances.json")).Annotations[0].Boxes.Select(b => b.Label));

        File.WriteAllText(tmp.File("instances.json"), """{"images": [], "annotations": [], "categories": [{"id": -1}]}""");
        Assert.Contains("category id -1", Assert.Throws<PotException>(() => CocoDetectionFile.Read(tmp.File("instances.json"), categoryIds: true)).Message);
    }

    [Theory]
    [InlineData("""{"images": [], "annotations": []}""", "has no 'categories' list")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.png", "width": 2, "height": 2}], "annotations": [{"image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1]}], "categories": []}""", "category 3, which is not in categories")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.png", "width": 2, "height": 2}], "annotations": [{"image_id": 7, "category_id": 3, "bbox": [0, 0, 1, 1]}], "categories": [{"id": 3}]}""", "image 7, which is not in images")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.png", "width": 2, "height": 2}], "annotations": [{"image_id": 1, "category_id": 3, "bbox": [0, 0, -1, 1]}], "categories": [{"id": 3}]}""", "width and height >= 0")]
    [InlineData("""{"images": [{"id": 1, "width": 2, "height": 2}], "annotations": [], "categories": []}""", "image 1 has no file_name")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.png", "width": 2, "height": 2}, {"id": 1, "file_name": "b.png", "width": 2, "height": 2}], "annotations": [], "categories": []}""", "image id 1 twice")]
    [InlineData("""{"images": [ """, "is not valid JSON")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.png", "width": 4294967298, "height": 2}], "annotations": [], "categories": []}""", "image 1 has the size 4294967298x2")]
    public void ProblemsNameTheFileAndWhatIsWrong(string json, string expected)
    {
        using var tmp = new TempFolder();
        var e = Assert.Throws<PotException>(() => Read(tmp, json));
        Assert.Equal("AnnotationInvalid", e.ErrorId);
        Assert.Contains("instances.json", e.Message);
        Assert.Contains(expected, e.Message);
    }
}
