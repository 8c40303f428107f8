import ChaparModels

/// The product renderer is the pipeline's renderer.
extension MessageRenderer: NotificationRendering {}
