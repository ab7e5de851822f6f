//! Reading an artifact version's stored files through the server.

use futures_util::TryStreamExt;

use crate::{Client, Error, types::ErrorBody};

impl Client {
    /// The stored files of an artifact version: the gzip-compressed tar
    /// archive of its directory in the artifact store, as the server sends it.
    ///
    /// Two requests: a short-lived download token, then the data itself. This
    /// works whatever artifact store the server uses, without access to it.
    pub async fn download_artifact_version(
        &self,
        artifact_version_id: &str,
    ) -> Result<Vec<u8>, Error<ErrorBody>> {
        let token = self
            .get_artifact_download_token()
            .artifact_version_id(artifact_version_id)
            .send()
            .await?
            .into_inner();
        self.download_artifact_data()
            .artifact_version_id(artifact_version_id)
            .token(token)
            .send()
            .await?
            .into_inner_stream()
            .try_fold(Vec::new(), |mut archive, chunk| async move {
                archive.extend_from_slice(&chunk);
                Ok(archive)
            })
            .await
            .map_err(Error::ResponseBodyError)
    }
}
