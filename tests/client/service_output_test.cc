#include "client/service_output.h"

#include <gtest/gtest.h>

#include <fstream>

#include "client/predict.h"

namespace cadre::client {
namespace {

protocol::InferenceServiceStatus canary_service() {
  protocol::InferenceServiceStatus s;
  s.name = "fmnist";
  s.ns = "default";
  s.url = "http://127.0.0.1:8080/v2/models/fmnist";
  s.ready = true;
  s.created_ms = 1000;
  s.traffic = {{"fmnist-00001", 80, false}, {"fmnist-00002", 20, true}};
  protocol::RevisionStatus r1, r2;
  r1.name = "fmnist-00001";
  r1.desired_replicas = r1.ready_replicas = 2;
  r2.name = "fmnist-00002";
  r2.desired_replicas = 1;
  r2.ready_replicas = 1;
  s.revisions = {r1, r2};
  protocol::ServiceReplica replica;
  replica.job = "fmnist-00002-1";
  replica.revision = "fmnist-00002";
  replica.state = protocol::ServiceReplicaState::kReady;
  replica.node = "local-1";
  replica.port = 31200;
  s.replicas = {replica};
  s.latest_created_revision = "fmnist-00002";
  s.latest_rolledout_revision = "fmnist-00001";
  s.canary_traffic_percent = 20;
  return s;
}

TEST(ServicesTable, ShowsUrlReadinessReplicasAndTheTrafficSplit) {
  const std::string table = services_table({canary_service()}, 61000, false);
  EXPECT_NE(table.find("NAME     URL"), std::string::npos) << table;
  EXPECT_NE(table.find("True"), std::string::npos);
  EXPECT_NE(table.find("3/3"), std::string::npos);
  EXPECT_NE(table.find("fmnist-00001 80%, fmnist-00002 20%"), std::string::npos);
}

TEST(ServiceJson, NamesTrafficReplicasAndRevisionsAsKServeDoes) {
  const auto json = service_to_json(canary_service(), false);
  EXPECT_EQ(json["name"], "fmnist");
  EXPECT_EQ(json["ready"], true);
  EXPECT_EQ(json["url"], "http://127.0.0.1:8080/v2/models/fmnist");
  EXPECT_EQ(json["traffic"][1]["revisionName"], "fmnist-00002");
  EXPECT_EQ(json["traffic"][1]["percent"], 20);
  EXPECT_EQ(json["traffic"][1]["latestRevision"], true);
  EXPECT_EQ(json["replicas"][0]["port"], 31200);
  EXPECT_EQ(json["latestRolledoutRevision"], "fmnist-00001");
  EXPECT_EQ(json["canaryTrafficPercent"], 20);
  EXPECT_FALSE(json.contains("events"));
}

TEST(DescribeService, ListsConditionsTrafficRevisionsAndReplicas) {
  const std::string page = describe_service(canary_service(), 61000);
  for (const char* part : {"URL:", "Traffic:", "Revisions:", "Replicas:", "fmnist-00002-1",
                           "local-1", "31200", "Canary:     20%"}) {
    EXPECT_NE(page.find(part), std::string::npos) << part << "\n" << page;
  }
}

const char* kMetadata = R"({"name":"fmnist","inputs":[{"name":"input","datatype":"FP32",
  "shape":[-1,1,28,28]}],"outputs":[{"name":"label","datatype":"BYTES","shape":[-1,1]}]})";

TEST(ImageRequest, FillsTheModelsInputWithABatchOfOne) {
  GrayImage image{28, 28, std::vector<uint8_t>(784, 7)};
  auto request = image_request(image, kMetadata);
  ASSERT_TRUE(request.ok()) << request.status().message();
  const auto json = nlohmann::json::parse(*request);
  EXPECT_EQ(json["inputs"][0]["shape"], (std::vector<int>{1, 1, 28, 28}));
  EXPECT_EQ(json["inputs"][0]["data"].size(), 784u);
  EXPECT_EQ(json["inputs"][0]["data"][0], 7);
  EXPECT_EQ(json["outputs"][0]["name"], "label");
}

TEST(ImageRequest, RefusesAnImageOfTheWrongSizeNamingBoth) {
  GrayImage image{32, 32, std::vector<uint8_t>(1024)};
  auto request = image_request(image, kMetadata);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().message(),
            "the image is 32x32 (1024 pixels); the model's input 'input' takes 1x1x28x28");
}

TEST(GrayImage, ReadsBinaryAndAsciiPgmAndRefusesOtherFiles) {
  const std::string binary = ::testing::TempDir() + "/cadre_image.pgm";
  {
    std::ofstream out(binary, std::ios::binary);
    out << "P5\n# a comment\n2 2\n255\n" << std::string("\x01\x02\x03\xff", 4);
  }
  auto image = read_gray_image(binary);
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ(image->width, 2);
  EXPECT_EQ(image->pixels, (std::vector<uint8_t>{1, 2, 3, 255}));
  const std::string ascii = ::testing::TempDir() + "/cadre_image_ascii.pgm";
  {
    std::ofstream out(ascii);
    out << "P2 2 1 15\n0 15\n";
  }
  image = read_gray_image(ascii);
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ(image->pixels, (std::vector<uint8_t>{0, 255}));
  const std::string junk = ::testing::TempDir() + "/cadre_image.txt";
  {
    std::ofstream out(junk);
    out << "hello";
  }
  EXPECT_EQ(read_gray_image(junk).status().message(), junk + ": not a PNG or PGM image");
  const std::string short_pgm = ::testing::TempDir() + "/cadre_short.pgm";
  {
    std::ofstream out(short_pgm, std::ios::binary);
    out << "P5 4 4 255\n" << std::string(3, 'x');
  }
  EXPECT_EQ(read_gray_image(short_pgm).status().message(),
            short_pgm + ": the PGM ends before its 16 pixels");
}

TEST(SummarizeAnswer, PrintsTheLabelAndTheMostLikelyClasses) {
  const std::string answer = R"({"outputs":[{"name":"label","data":["Ankle boot"]},
    {"name":"probabilities","data":[0.1,0.0,0.0,0.0,0.0,0.0,0.0,0.2,0.0,0.7]}]})";
  EXPECT_EQ(summarize_answer(answer),
            "label: Ankle boot\ntop classes: 9 (0.700) 7 (0.200) 0 (0.100)\n");
}

TEST(SummarizeAnswer, ShowsAnAnswerOfOtherShapesAsItCame) {
  for (const std::string answer :
       {R"([1, 2])", R"({"outputs": 3})", R"({"outputs": [4, {"name": 5}]})",
        R"({"outputs": [{"name": "label", "data": [6]}]})",
        R"({"outputs": [{"name": "probabilities", "data": ["x"]}]})"}) {
    EXPECT_EQ(summarize_answer(answer), nlohmann::json::parse(answer).dump(2) + "\n") << answer;
  }
}

}  // namespace
}  // namespace cadre::client
