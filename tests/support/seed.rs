//! Seeding the local AWS endpoint through the SDK: keys, databases, clusters, volumes, snapshots and instances in
//! one region, created the way the live audit and evidence tests need them.

use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, InstanceType, OperationType, ResourceType,
    SnapshotAttributeName, Tag, TagSpecification,
};
use aws_sdk_kms::types::OriginType;

use super::moto_sdk_config as sdk;

/// Clients for one region.
pub struct Seed {
    pub region: String,
    pub kms: aws_sdk_kms::Client,
    pub rds: aws_sdk_rds::Client,
    pub ec2: aws_sdk_ec2::Client,
    /// IAM is global: what it creates is seen from every region.
    pub iam: aws_sdk_iam::Client,
}

impl Seed {
    pub async fn new(region: &str) -> Seed {
        Seed::with_config(region, &sdk(region).await)
    }

    /// Clients of a given configuration (another endpoint, or a role assumed in another account).
    pub fn with_config(region: &str, conf: &aws_config::SdkConfig) -> Seed {
        Seed {
            region: region.to_string(),
            kms: aws_sdk_kms::Client::new(conf),
            rds: aws_sdk_rds::Client::new(conf),
            ec2: aws_sdk_ec2::Client::new(conf),
            iam: aws_sdk_iam::Client::new(conf),
        }
    }

    pub async fn key(&self, policy: Option<String>, rotate: bool) -> String {
        let mut req = self.kms.create_key();
        if let Some(p) = policy {
            req = req.policy(p);
        }
        let arn = req
            .send()
            .await
            .unwrap()
            .key_metadata()
            .unwrap()
            .arn()
            .unwrap()
            .to_string();
        if rotate {
            self.kms
                .enable_key_rotation()
                .key_id(&arn)
                .send()
                .await
                .unwrap();
        }
        arn
    }

    /// A role with one inline policy (`policy` is the statements' JSON array) and, when given, a managed policy as
    /// its permissions boundary. Returns the role ARN.
    pub async fn role(&self, name: &str, policy: &str, boundary: Option<&str>) -> String {
        let mut req = self.iam.create_role().role_name(name).assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        );
        if let Some(b) = boundary {
            req = req.permissions_boundary(b);
        }
        let arn = req.send().await.unwrap().role().unwrap().arn().to_string();
        self.iam
            .put_role_policy()
            .role_name(name)
            .policy_name(format!("{name}-inline"))
            .policy_document(format!(
                r#"{{"Version":"2012-10-17","Statement":{policy}}}"#
            ))
            .send()
            .await
            .unwrap();
        arn
    }

    /// A customer managed policy (`policy` is the statements' JSON array). Returns its ARN.
    pub async fn managed_policy(&self, name: &str, policy: &str) -> String {
        let out = self
            .iam
            .create_policy()
            .policy_name(name)
            .policy_document(format!(
                r#"{{"Version":"2012-10-17","Statement":{policy}}}"#
            ))
            .send()
            .await
            .unwrap();
        out.policy().unwrap().arn().unwrap().to_string()
    }

    pub async fn cloudhsm_key(&self) -> String {
        let out = self
            .kms
            .create_key()
            .origin(OriginType::AwsCloudhsm)
            .custom_key_store_id("cks-1234567890abcdef0")
            .send()
            .await
            .unwrap();
        out.key_metadata().unwrap().arn().unwrap().to_string()
    }

    pub async fn db(&self, id: &str, engine: &str, version: &str, key: Option<&str>) {
        self.db_with(id, engine, version, key, None).await;
    }

    pub async fn db_with(
        &self,
        id: &str,
        engine: &str,
        version: &str,
        key: Option<&str>,
        option_group: Option<&str>,
    ) {
        let mut req = self
            .rds
            .create_db_instance()
            .db_instance_identifier(id)
            .engine(engine)
            .engine_version(version)
            .db_instance_class("db.m5.large")
            .master_username("admin")
            .master_user_password("password-123")
            .allocated_storage(20);
        if let Some(k) = key {
            req = req.storage_encrypted(true).kms_key_id(k);
        }
        if let Some(g) = option_group {
            req = req
                .option_group_name(g)
                .license_model("bring-your-own-license");
        }
        req.send().await.unwrap();
    }

    pub async fn cluster(&self, id: &str, engine: &str, version: &str, key: Option<&str>) {
        let mut req = self
            .rds
            .create_db_cluster()
            .db_cluster_identifier(id)
            .engine(engine)
            .engine_version(version)
            .master_username("admin")
            .master_user_password("password-123");
        if let Some(k) = key {
            req = req.storage_encrypted(true).kms_key_id(k);
        }
        req.send().await.unwrap();
    }

    /// The endpoint makes an automated snapshot per instance and cluster (even an Aurora member's, marked
    /// encrypted); AWS does not for these. Delete them so that only the seeded snapshots remain.
    pub async fn delete_automated_snapshots(&self) {
        let snaps = self.rds.describe_db_snapshots().send().await.unwrap();
        for s in snaps
            .db_snapshots()
            .iter()
            .filter(|s| s.snapshot_type() == Some("automated"))
        {
            let id = s.db_snapshot_identifier().unwrap();
            self.rds
                .delete_db_snapshot()
                .db_snapshot_identifier(id)
                .send()
                .await
                .unwrap();
        }
        let snaps = self
            .rds
            .describe_db_cluster_snapshots()
            .send()
            .await
            .unwrap();
        for s in snaps
            .db_cluster_snapshots()
            .iter()
            .filter(|s| s.snapshot_type() == Some("automated"))
        {
            let id = s.db_cluster_snapshot_identifier().unwrap();
            self.rds
                .delete_db_cluster_snapshot()
                .db_cluster_snapshot_identifier(id)
                .send()
                .await
                .unwrap();
        }
    }

    pub async fn volume(&self, key: Option<&str>) -> String {
        let mut req = self
            .ec2
            .create_volume()
            .availability_zone(format!("{}a", self.region))
            .size(1);
        if let Some(k) = key {
            req = req.encrypted(true).kms_key_id(k);
        }
        req.send().await.unwrap().volume_id().unwrap().to_string()
    }

    pub async fn snapshot(&self, volume: &str, public: bool) -> String {
        let id = self
            .ec2
            .create_snapshot()
            .volume_id(volume)
            .send()
            .await
            .unwrap()
            .snapshot_id()
            .unwrap()
            .to_string();
        if public {
            // The structured CreateVolumePermission form is ignored by the endpoint; the legacy parameters work.
            self.ec2
                .modify_snapshot_attribute()
                .snapshot_id(&id)
                .attribute(SnapshotAttributeName::CreateVolumePermission)
                .operation_type(OperationType::Add)
                .group_names("all")
                .send()
                .await
                .unwrap();
        }
        id
    }

    /// Starts an instance with the given tags and, if `root_key` is set, an encrypted root volume.
    /// Returns (instance id, root volume id).
    pub async fn instance(
        &self,
        tags: &[(&str, &str)],
        root_key: Option<&str>,
    ) -> (String, String) {
        let mut spec = TagSpecification::builder().resource_type(ResourceType::Instance);
        for (k, v) in tags {
            spec = spec.tags(Tag::builder().key(*k).value(*v).build());
        }
        let mut req = self
            .ec2
            .run_instances()
            .image_id("ami-12345678")
            .instance_type(InstanceType::T3Micro)
            .min_count(1)
            .max_count(1);
        if !tags.is_empty() {
            req = req.tag_specifications(spec.build());
        }
        if let Some(k) = root_key {
            req = req.block_device_mappings(
                BlockDeviceMapping::builder()
                    .device_name("/dev/xvda")
                    .ebs(
                        EbsBlockDevice::builder()
                            .volume_size(8)
                            .encrypted(true)
                            .kms_key_id(k)
                            .build(),
                    )
                    .build(),
            );
        }
        let out = req.send().await.unwrap();
        let instance = &out.instances()[0];
        let id = instance.instance_id().unwrap().to_string();
        let described = self
            .ec2
            .describe_instances()
            .instance_ids(&id)
            .send()
            .await
            .unwrap();
        let volume = described.reservations()[0].instances()[0].block_device_mappings()[0]
            .ebs()
            .unwrap()
            .volume_id()
            .unwrap()
            .to_string();
        (id, volume)
    }
}
