# fmt: off
# ruff: noqa
# Generated from ui/new_job.ui by `python -m sparktrainer_gui.forms`: edit the .ui file, not this one.
# -*- coding: utf-8 -*-

################################################################################
## Form generated from reading UI file 'new_job.ui'
##
##
## WARNING! All changes made in this file will be lost when recompiling UI file!
################################################################################

from PySide6.QtCore import (QCoreApplication, QDate, QDateTime, QLocale,
    QMetaObject, QObject, QPoint, QRect,
    QSize, QTime, QUrl, Qt)
from PySide6.QtGui import (QBrush, QColor, QConicalGradient, QCursor,
    QFont, QFontDatabase, QGradient, QIcon,
    QImage, QKeySequence, QLinearGradient, QPainter,
    QPalette, QPixmap, QRadialGradient, QTransform)
from PySide6.QtWidgets import (QApplication, QComboBox, QDialog, QFormLayout,
    QGridLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QPushButton, QRadioButton, QSizePolicy,
    QSpacerItem, QVBoxLayout, QWidget)

class Ui_NewJobForm(object):
    def setupUi(self, NewJobForm):
        if not NewJobForm.objectName():
            NewJobForm.setObjectName(u"NewJobForm")
        NewJobForm.resize(860, 620)
        self.main_layout = QVBoxLayout(NewJobForm)
        self.main_layout.setObjectName(u"main_layout")
        self.title_label = QLabel(NewJobForm)
        self.title_label.setObjectName(u"title_label")
        self.title_label.setProperty(u"role", u"title")

        self.main_layout.addWidget(self.title_label)

        self.subtitle_label = QLabel(NewJobForm)
        self.subtitle_label.setObjectName(u"subtitle_label")
        self.subtitle_label.setWordWrap(True)
        self.subtitle_label.setProperty(u"role", u"hint")

        self.main_layout.addWidget(self.subtitle_label)

        self.columns = QHBoxLayout()
        self.columns.setSpacing(12)
        self.columns.setObjectName(u"columns")
        self.left_column = QVBoxLayout()
        self.left_column.setObjectName(u"left_column")
        self.what_group = QGroupBox(NewJobForm)
        self.what_group.setObjectName(u"what_group")
        self.what_layout = QFormLayout(self.what_group)
        self.what_layout.setObjectName(u"what_layout")
        self.recipe_label = QLabel(self.what_group)
        self.recipe_label.setObjectName(u"recipe_label")

        self.what_layout.setWidget(0, QFormLayout.ItemRole.LabelRole, self.recipe_label)

        self.recipe_combo = QComboBox(self.what_group)
        self.recipe_combo.setObjectName(u"recipe_combo")

        self.what_layout.setWidget(0, QFormLayout.ItemRole.FieldRole, self.recipe_combo)

        self.recipe_error = QLabel(self.what_group)
        self.recipe_error.setObjectName(u"recipe_error")
        self.recipe_error.setWordWrap(True)
        self.recipe_error.setVisible(False)
        self.recipe_error.setProperty(u"role", u"error")

        self.what_layout.setWidget(1, QFormLayout.ItemRole.FieldRole, self.recipe_error)

        self.method_label = QLabel(self.what_group)
        self.method_label.setObjectName(u"method_label")

        self.what_layout.setWidget(2, QFormLayout.ItemRole.LabelRole, self.method_label)

        self.method_combo = QComboBox(self.what_group)
        self.method_combo.setObjectName(u"method_combo")

        self.what_layout.setWidget(2, QFormLayout.ItemRole.FieldRole, self.method_combo)

        self.method_error = QLabel(self.what_group)
        self.method_error.setObjectName(u"method_error")
        self.method_error.setWordWrap(True)
        self.method_error.setVisible(False)
        self.method_error.setProperty(u"role", u"error")

        self.what_layout.setWidget(3, QFormLayout.ItemRole.FieldRole, self.method_error)


        self.left_column.addWidget(self.what_group)

        self.lora_group = QGroupBox(NewJobForm)
        self.lora_group.setObjectName(u"lora_group")
        self.lora_layout = QFormLayout(self.lora_group)
        self.lora_layout.setObjectName(u"lora_layout")
        self.lora_r_label = QLabel(self.lora_group)
        self.lora_r_label.setObjectName(u"lora_r_label")

        self.lora_layout.setWidget(0, QFormLayout.ItemRole.LabelRole, self.lora_r_label)

        self.lora_r_edit = QLineEdit(self.lora_group)
        self.lora_r_edit.setObjectName(u"lora_r_edit")

        self.lora_layout.setWidget(0, QFormLayout.ItemRole.FieldRole, self.lora_r_edit)

        self.lora_r_error = QLabel(self.lora_group)
        self.lora_r_error.setObjectName(u"lora_r_error")
        self.lora_r_error.setWordWrap(True)
        self.lora_r_error.setVisible(False)
        self.lora_r_error.setProperty(u"role", u"error")

        self.lora_layout.setWidget(1, QFormLayout.ItemRole.FieldRole, self.lora_r_error)

        self.lora_alpha_label = QLabel(self.lora_group)
        self.lora_alpha_label.setObjectName(u"lora_alpha_label")

        self.lora_layout.setWidget(2, QFormLayout.ItemRole.LabelRole, self.lora_alpha_label)

        self.lora_alpha_edit = QLineEdit(self.lora_group)
        self.lora_alpha_edit.setObjectName(u"lora_alpha_edit")

        self.lora_layout.setWidget(2, QFormLayout.ItemRole.FieldRole, self.lora_alpha_edit)

        self.lora_alpha_error = QLabel(self.lora_group)
        self.lora_alpha_error.setObjectName(u"lora_alpha_error")
        self.lora_alpha_error.setWordWrap(True)
        self.lora_alpha_error.setVisible(False)
        self.lora_alpha_error.setProperty(u"role", u"error")

        self.lora_layout.setWidget(3, QFormLayout.ItemRole.FieldRole, self.lora_alpha_error)

        self.lora_dropout_label = QLabel(self.lora_group)
        self.lora_dropout_label.setObjectName(u"lora_dropout_label")

        self.lora_layout.setWidget(4, QFormLayout.ItemRole.LabelRole, self.lora_dropout_label)

        self.lora_dropout_edit = QLineEdit(self.lora_group)
        self.lora_dropout_edit.setObjectName(u"lora_dropout_edit")

        self.lora_layout.setWidget(4, QFormLayout.ItemRole.FieldRole, self.lora_dropout_edit)

        self.lora_dropout_error = QLabel(self.lora_group)
        self.lora_dropout_error.setObjectName(u"lora_dropout_error")
        self.lora_dropout_error.setWordWrap(True)
        self.lora_dropout_error.setVisible(False)
        self.lora_dropout_error.setProperty(u"role", u"error")

        self.lora_layout.setWidget(5, QFormLayout.ItemRole.FieldRole, self.lora_dropout_error)


        self.left_column.addWidget(self.lora_group)

        self.model_group = QGroupBox(NewJobForm)
        self.model_group.setObjectName(u"model_group")
        self.model_layout = QGridLayout(self.model_group)
        self.model_layout.setObjectName(u"model_layout")
        self.model_builtin_radio = QRadioButton(self.model_group)
        self.model_builtin_radio.setObjectName(u"model_builtin_radio")
        self.model_builtin_radio.setChecked(True)

        self.model_layout.addWidget(self.model_builtin_radio, 0, 0, 1, 1)

        self.model_builtin_combo = QComboBox(self.model_group)
        self.model_builtin_combo.setObjectName(u"model_builtin_combo")

        self.model_layout.addWidget(self.model_builtin_combo, 0, 1, 1, 2)

        self.model_builtin_error = QLabel(self.model_group)
        self.model_builtin_error.setObjectName(u"model_builtin_error")
        self.model_builtin_error.setWordWrap(True)
        self.model_builtin_error.setVisible(False)
        self.model_builtin_error.setProperty(u"role", u"error")

        self.model_layout.addWidget(self.model_builtin_error, 1, 1, 1, 2)

        self.model_path_radio = QRadioButton(self.model_group)
        self.model_path_radio.setObjectName(u"model_path_radio")

        self.model_layout.addWidget(self.model_path_radio, 2, 0, 1, 1)

        self.model_path_edit = QLineEdit(self.model_group)
        self.model_path_edit.setObjectName(u"model_path_edit")

        self.model_layout.addWidget(self.model_path_edit, 2, 1, 1, 1)

        self.model_browse_button = QPushButton(self.model_group)
        self.model_browse_button.setObjectName(u"model_browse_button")

        self.model_layout.addWidget(self.model_browse_button, 2, 2, 1, 1)

        self.model_info_label = QLabel(self.model_group)
        self.model_info_label.setObjectName(u"model_info_label")
        self.model_info_label.setWordWrap(True)
        self.model_info_label.setProperty(u"role", u"hint")

        self.model_layout.addWidget(self.model_info_label, 3, 1, 1, 2)

        self.model_path_error = QLabel(self.model_group)
        self.model_path_error.setObjectName(u"model_path_error")
        self.model_path_error.setWordWrap(True)
        self.model_path_error.setVisible(False)
        self.model_path_error.setProperty(u"role", u"error")

        self.model_layout.addWidget(self.model_path_error, 4, 1, 1, 2)

        self.model_hub_radio = QRadioButton(self.model_group)
        self.model_hub_radio.setObjectName(u"model_hub_radio")

        self.model_layout.addWidget(self.model_hub_radio, 5, 0, 1, 1)

        self.model_hub_id_edit = QLineEdit(self.model_group)
        self.model_hub_id_edit.setObjectName(u"model_hub_id_edit")

        self.model_layout.addWidget(self.model_hub_id_edit, 5, 1, 1, 2)

        self.model_hub_id_error = QLabel(self.model_group)
        self.model_hub_id_error.setObjectName(u"model_hub_id_error")
        self.model_hub_id_error.setWordWrap(True)
        self.model_hub_id_error.setVisible(False)
        self.model_hub_id_error.setProperty(u"role", u"error")

        self.model_layout.addWidget(self.model_hub_id_error, 6, 1, 1, 2)

        self.model_source_error = QLabel(self.model_group)
        self.model_source_error.setObjectName(u"model_source_error")
        self.model_source_error.setWordWrap(True)
        self.model_source_error.setVisible(False)
        self.model_source_error.setProperty(u"role", u"error")

        self.model_layout.addWidget(self.model_source_error, 7, 0, 1, 3)


        self.left_column.addWidget(self.model_group)

        self.dataset_group = QGroupBox(NewJobForm)
        self.dataset_group.setObjectName(u"dataset_group")
        self.dataset_layout = QGridLayout(self.dataset_group)
        self.dataset_layout.setObjectName(u"dataset_layout")
        self.dataset_path_edit = QLineEdit(self.dataset_group)
        self.dataset_path_edit.setObjectName(u"dataset_path_edit")

        self.dataset_layout.addWidget(self.dataset_path_edit, 0, 0, 1, 1)

        self.dataset_browse_button = QPushButton(self.dataset_group)
        self.dataset_browse_button.setObjectName(u"dataset_browse_button")

        self.dataset_layout.addWidget(self.dataset_browse_button, 0, 1, 1, 1)

        self.dataset_path_error = QLabel(self.dataset_group)
        self.dataset_path_error.setObjectName(u"dataset_path_error")
        self.dataset_path_error.setWordWrap(True)
        self.dataset_path_error.setVisible(False)
        self.dataset_path_error.setProperty(u"role", u"error")

        self.dataset_layout.addWidget(self.dataset_path_error, 1, 0, 1, 2)

        self.dataset_drop_label = QLabel(self.dataset_group)
        self.dataset_drop_label.setObjectName(u"dataset_drop_label")
        self.dataset_drop_label.setWordWrap(True)
        self.dataset_drop_label.setProperty(u"role", u"hint")

        self.dataset_layout.addWidget(self.dataset_drop_label, 2, 0, 1, 2)


        self.left_column.addWidget(self.dataset_group)

        self.left_spacer = QSpacerItem(0, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Expanding)

        self.left_column.addItem(self.left_spacer)


        self.columns.addLayout(self.left_column)

        self.right_column = QVBoxLayout()
        self.right_column.setObjectName(u"right_column")
        self.job_group = QGroupBox(NewJobForm)
        self.job_group.setObjectName(u"job_group")
        self.job_layout = QFormLayout(self.job_group)
        self.job_layout.setObjectName(u"job_layout")
        self.name_label = QLabel(self.job_group)
        self.name_label.setObjectName(u"name_label")

        self.job_layout.setWidget(0, QFormLayout.ItemRole.LabelRole, self.name_label)

        self.name_edit = QLineEdit(self.job_group)
        self.name_edit.setObjectName(u"name_edit")

        self.job_layout.setWidget(0, QFormLayout.ItemRole.FieldRole, self.name_edit)

        self.name_error = QLabel(self.job_group)
        self.name_error.setObjectName(u"name_error")
        self.name_error.setWordWrap(True)
        self.name_error.setVisible(False)
        self.name_error.setProperty(u"role", u"error")

        self.job_layout.setWidget(1, QFormLayout.ItemRole.FieldRole, self.name_error)

        self.experiment_label = QLabel(self.job_group)
        self.experiment_label.setObjectName(u"experiment_label")

        self.job_layout.setWidget(2, QFormLayout.ItemRole.LabelRole, self.experiment_label)

        self.experiment_edit = QLineEdit(self.job_group)
        self.experiment_edit.setObjectName(u"experiment_edit")

        self.job_layout.setWidget(2, QFormLayout.ItemRole.FieldRole, self.experiment_edit)

        self.experiment_error = QLabel(self.job_group)
        self.experiment_error.setObjectName(u"experiment_error")
        self.experiment_error.setWordWrap(True)
        self.experiment_error.setVisible(False)
        self.experiment_error.setProperty(u"role", u"error")

        self.job_layout.setWidget(3, QFormLayout.ItemRole.FieldRole, self.experiment_error)

        self.resources_devices_label = QLabel(self.job_group)
        self.resources_devices_label.setObjectName(u"resources_devices_label")

        self.job_layout.setWidget(4, QFormLayout.ItemRole.LabelRole, self.resources_devices_label)

        self.resources_devices_edit = QLineEdit(self.job_group)
        self.resources_devices_edit.setObjectName(u"resources_devices_edit")

        self.job_layout.setWidget(4, QFormLayout.ItemRole.FieldRole, self.resources_devices_edit)

        self.resources_devices_error = QLabel(self.job_group)
        self.resources_devices_error.setObjectName(u"resources_devices_error")
        self.resources_devices_error.setWordWrap(True)
        self.resources_devices_error.setVisible(False)
        self.resources_devices_error.setProperty(u"role", u"error")

        self.job_layout.setWidget(5, QFormLayout.ItemRole.FieldRole, self.resources_devices_error)

        self.priority_label = QLabel(self.job_group)
        self.priority_label.setObjectName(u"priority_label")

        self.job_layout.setWidget(6, QFormLayout.ItemRole.LabelRole, self.priority_label)

        self.priority_edit = QLineEdit(self.job_group)
        self.priority_edit.setObjectName(u"priority_edit")

        self.job_layout.setWidget(6, QFormLayout.ItemRole.FieldRole, self.priority_edit)

        self.priority_error = QLabel(self.job_group)
        self.priority_error.setObjectName(u"priority_error")
        self.priority_error.setWordWrap(True)
        self.priority_error.setVisible(False)
        self.priority_error.setProperty(u"role", u"error")

        self.job_layout.setWidget(7, QFormLayout.ItemRole.FieldRole, self.priority_error)


        self.right_column.addWidget(self.job_group)

        self.train_group = QGroupBox(NewJobForm)
        self.train_group.setObjectName(u"train_group")
        self.train_layout = QFormLayout(self.train_group)
        self.train_layout.setObjectName(u"train_layout")
        self.train_max_steps_label = QLabel(self.train_group)
        self.train_max_steps_label.setObjectName(u"train_max_steps_label")

        self.train_layout.setWidget(0, QFormLayout.ItemRole.LabelRole, self.train_max_steps_label)

        self.train_max_steps_edit = QLineEdit(self.train_group)
        self.train_max_steps_edit.setObjectName(u"train_max_steps_edit")

        self.train_layout.setWidget(0, QFormLayout.ItemRole.FieldRole, self.train_max_steps_edit)

        self.train_max_steps_error = QLabel(self.train_group)
        self.train_max_steps_error.setObjectName(u"train_max_steps_error")
        self.train_max_steps_error.setWordWrap(True)
        self.train_max_steps_error.setVisible(False)
        self.train_max_steps_error.setProperty(u"role", u"error")

        self.train_layout.setWidget(1, QFormLayout.ItemRole.FieldRole, self.train_max_steps_error)

        self.train_batch_size_label = QLabel(self.train_group)
        self.train_batch_size_label.setObjectName(u"train_batch_size_label")

        self.train_layout.setWidget(2, QFormLayout.ItemRole.LabelRole, self.train_batch_size_label)

        self.train_batch_size_edit = QLineEdit(self.train_group)
        self.train_batch_size_edit.setObjectName(u"train_batch_size_edit")

        self.train_layout.setWidget(2, QFormLayout.ItemRole.FieldRole, self.train_batch_size_edit)

        self.train_batch_size_error = QLabel(self.train_group)
        self.train_batch_size_error.setObjectName(u"train_batch_size_error")
        self.train_batch_size_error.setWordWrap(True)
        self.train_batch_size_error.setVisible(False)
        self.train_batch_size_error.setProperty(u"role", u"error")

        self.train_layout.setWidget(3, QFormLayout.ItemRole.FieldRole, self.train_batch_size_error)

        self.train_seq_len_label = QLabel(self.train_group)
        self.train_seq_len_label.setObjectName(u"train_seq_len_label")

        self.train_layout.setWidget(4, QFormLayout.ItemRole.LabelRole, self.train_seq_len_label)

        self.train_seq_len_edit = QLineEdit(self.train_group)
        self.train_seq_len_edit.setObjectName(u"train_seq_len_edit")

        self.train_layout.setWidget(4, QFormLayout.ItemRole.FieldRole, self.train_seq_len_edit)

        self.train_seq_len_error = QLabel(self.train_group)
        self.train_seq_len_error.setObjectName(u"train_seq_len_error")
        self.train_seq_len_error.setWordWrap(True)
        self.train_seq_len_error.setVisible(False)
        self.train_seq_len_error.setProperty(u"role", u"error")

        self.train_layout.setWidget(5, QFormLayout.ItemRole.FieldRole, self.train_seq_len_error)

        self.train_lr_label = QLabel(self.train_group)
        self.train_lr_label.setObjectName(u"train_lr_label")

        self.train_layout.setWidget(6, QFormLayout.ItemRole.LabelRole, self.train_lr_label)

        self.train_lr_edit = QLineEdit(self.train_group)
        self.train_lr_edit.setObjectName(u"train_lr_edit")

        self.train_layout.setWidget(6, QFormLayout.ItemRole.FieldRole, self.train_lr_edit)

        self.train_lr_error = QLabel(self.train_group)
        self.train_lr_error.setObjectName(u"train_lr_error")
        self.train_lr_error.setWordWrap(True)
        self.train_lr_error.setVisible(False)
        self.train_lr_error.setProperty(u"role", u"error")

        self.train_layout.setWidget(7, QFormLayout.ItemRole.FieldRole, self.train_lr_error)

        self.train_seed_label = QLabel(self.train_group)
        self.train_seed_label.setObjectName(u"train_seed_label")

        self.train_layout.setWidget(8, QFormLayout.ItemRole.LabelRole, self.train_seed_label)

        self.train_seed_edit = QLineEdit(self.train_group)
        self.train_seed_edit.setObjectName(u"train_seed_edit")

        self.train_layout.setWidget(8, QFormLayout.ItemRole.FieldRole, self.train_seed_edit)

        self.train_seed_error = QLabel(self.train_group)
        self.train_seed_error.setObjectName(u"train_seed_error")
        self.train_seed_error.setWordWrap(True)
        self.train_seed_error.setVisible(False)
        self.train_seed_error.setProperty(u"role", u"error")

        self.train_layout.setWidget(9, QFormLayout.ItemRole.FieldRole, self.train_seed_error)

        self.train_warmup_steps_label = QLabel(self.train_group)
        self.train_warmup_steps_label.setObjectName(u"train_warmup_steps_label")

        self.train_layout.setWidget(10, QFormLayout.ItemRole.LabelRole, self.train_warmup_steps_label)

        self.train_warmup_steps_edit = QLineEdit(self.train_group)
        self.train_warmup_steps_edit.setObjectName(u"train_warmup_steps_edit")

        self.train_layout.setWidget(10, QFormLayout.ItemRole.FieldRole, self.train_warmup_steps_edit)

        self.train_warmup_steps_error = QLabel(self.train_group)
        self.train_warmup_steps_error.setObjectName(u"train_warmup_steps_error")
        self.train_warmup_steps_error.setWordWrap(True)
        self.train_warmup_steps_error.setVisible(False)
        self.train_warmup_steps_error.setProperty(u"role", u"error")

        self.train_layout.setWidget(11, QFormLayout.ItemRole.FieldRole, self.train_warmup_steps_error)

        self.train_eval_every_label = QLabel(self.train_group)
        self.train_eval_every_label.setObjectName(u"train_eval_every_label")

        self.train_layout.setWidget(12, QFormLayout.ItemRole.LabelRole, self.train_eval_every_label)

        self.train_eval_every_edit = QLineEdit(self.train_group)
        self.train_eval_every_edit.setObjectName(u"train_eval_every_edit")

        self.train_layout.setWidget(12, QFormLayout.ItemRole.FieldRole, self.train_eval_every_edit)

        self.train_eval_every_error = QLabel(self.train_group)
        self.train_eval_every_error.setObjectName(u"train_eval_every_error")
        self.train_eval_every_error.setWordWrap(True)
        self.train_eval_every_error.setVisible(False)
        self.train_eval_every_error.setProperty(u"role", u"error")

        self.train_layout.setWidget(13, QFormLayout.ItemRole.FieldRole, self.train_eval_every_error)

        self.train_checkpoint_every_label = QLabel(self.train_group)
        self.train_checkpoint_every_label.setObjectName(u"train_checkpoint_every_label")

        self.train_layout.setWidget(14, QFormLayout.ItemRole.LabelRole, self.train_checkpoint_every_label)

        self.train_checkpoint_every_edit = QLineEdit(self.train_group)
        self.train_checkpoint_every_edit.setObjectName(u"train_checkpoint_every_edit")

        self.train_layout.setWidget(14, QFormLayout.ItemRole.FieldRole, self.train_checkpoint_every_edit)

        self.train_checkpoint_every_error = QLabel(self.train_group)
        self.train_checkpoint_every_error.setObjectName(u"train_checkpoint_every_error")
        self.train_checkpoint_every_error.setWordWrap(True)
        self.train_checkpoint_every_error.setVisible(False)
        self.train_checkpoint_every_error.setProperty(u"role", u"error")

        self.train_layout.setWidget(15, QFormLayout.ItemRole.FieldRole, self.train_checkpoint_every_error)


        self.right_column.addWidget(self.train_group)

        self.right_spacer = QSpacerItem(0, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Expanding)

        self.right_column.addItem(self.right_spacer)


        self.columns.addLayout(self.right_column)


        self.main_layout.addLayout(self.columns)

        self.general_error = QLabel(NewJobForm)
        self.general_error.setObjectName(u"general_error")
        self.general_error.setWordWrap(True)
        self.general_error.setVisible(False)
        self.general_error.setProperty(u"role", u"error")

        self.main_layout.addWidget(self.general_error)

        self.buttons = QHBoxLayout()
        self.buttons.setObjectName(u"buttons")
        self.open_spec_button = QPushButton(NewJobForm)
        self.open_spec_button.setObjectName(u"open_spec_button")

        self.buttons.addWidget(self.open_spec_button)

        self.save_spec_button = QPushButton(NewJobForm)
        self.save_spec_button.setObjectName(u"save_spec_button")

        self.buttons.addWidget(self.save_spec_button)

        self.button_spacer = QSpacerItem(0, 0, QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)

        self.buttons.addItem(self.button_spacer)

        self.cancel_button = QPushButton(NewJobForm)
        self.cancel_button.setObjectName(u"cancel_button")
        self.cancel_button.setAutoDefault(False)

        self.buttons.addWidget(self.cancel_button)

        self.submit_button = QPushButton(NewJobForm)
        self.submit_button.setObjectName(u"submit_button")

        self.buttons.addWidget(self.submit_button)


        self.main_layout.addLayout(self.buttons)


        self.retranslateUi(NewJobForm)

        self.submit_button.setDefault(True)


        QMetaObject.connectSlotsByName(NewJobForm)
    # setupUi

    def retranslateUi(self, NewJobForm):
        NewJobForm.setWindowTitle(QCoreApplication.translate("NewJobForm", u"New training job", None))
        self.title_label.setText(QCoreApplication.translate("NewJobForm", u"New training job", None))
        self.subtitle_label.setText(QCoreApplication.translate("NewJobForm", u"Every field is checked as you type, with the same rules the runtime and the CLI use.", None))
        self.what_group.setTitle(QCoreApplication.translate("NewJobForm", u"What to train", None))
        self.recipe_label.setText(QCoreApplication.translate("NewJobForm", u"Recipe", None))
        self.recipe_error.setText("")
        self.method_label.setText(QCoreApplication.translate("NewJobForm", u"Method", None))
        self.method_error.setText("")
        self.lora_group.setTitle(QCoreApplication.translate("NewJobForm", u"LoRA adapter", None))
        self.lora_r_label.setText(QCoreApplication.translate("NewJobForm", u"Rank (r)", None))
        self.lora_r_error.setText("")
        self.lora_alpha_label.setText(QCoreApplication.translate("NewJobForm", u"Alpha", None))
        self.lora_alpha_error.setText("")
        self.lora_dropout_label.setText(QCoreApplication.translate("NewJobForm", u"Dropout", None))
        self.lora_dropout_error.setText("")
        self.model_group.setTitle(QCoreApplication.translate("NewJobForm", u"Model", None))
        self.model_builtin_radio.setText(QCoreApplication.translate("NewJobForm", u"Built-in", None))
        self.model_builtin_error.setText("")
        self.model_path_radio.setText(QCoreApplication.translate("NewJobForm", u"Local folder", None))
        self.model_path_edit.setPlaceholderText(QCoreApplication.translate("NewJobForm", u"folder with config.json", None))
        self.model_browse_button.setText(QCoreApplication.translate("NewJobForm", u"Browse\u2026", None))
        self.model_info_label.setText("")
        self.model_path_error.setText("")
        self.model_hub_radio.setText(QCoreApplication.translate("NewJobForm", u"Hub id", None))
        self.model_hub_id_edit.setPlaceholderText(QCoreApplication.translate("NewJobForm", u"e.g. openai-community/gpt2", None))
        self.model_hub_id_error.setText("")
        self.model_source_error.setText("")
        self.dataset_group.setTitle(QCoreApplication.translate("NewJobForm", u"Dataset", None))
        self.dataset_path_edit.setPlaceholderText(QCoreApplication.translate("NewJobForm", u"a .txt file, or .jsonl with a \"text\" field", None))
        self.dataset_browse_button.setText(QCoreApplication.translate("NewJobForm", u"Browse\u2026", None))
        self.dataset_path_error.setText("")
        self.dataset_drop_label.setText(QCoreApplication.translate("NewJobForm", u"Or drop a .txt or .jsonl file anywhere on this window.", None))
        self.job_group.setTitle(QCoreApplication.translate("NewJobForm", u"Job", None))
        self.name_label.setText(QCoreApplication.translate("NewJobForm", u"Name", None))
        self.name_edit.setPlaceholderText(QCoreApplication.translate("NewJobForm", u"letters, digits, . _ -", None))
        self.name_error.setText("")
        self.experiment_label.setText(QCoreApplication.translate("NewJobForm", u"Experiment", None))
        self.experiment_error.setText("")
        self.resources_devices_label.setText(QCoreApplication.translate("NewJobForm", u"Devices", None))
        self.resources_devices_edit.setPlaceholderText(QCoreApplication.translate("NewJobForm", u"processes (CPU) or GPUs", None))
        self.resources_devices_error.setText("")
        self.priority_label.setText(QCoreApplication.translate("NewJobForm", u"Priority", None))
        self.priority_edit.setPlaceholderText(QCoreApplication.translate("NewJobForm", u"-100 to 100; higher runs first", None))
        self.priority_error.setText("")
        self.train_group.setTitle(QCoreApplication.translate("NewJobForm", u"Training", None))
        self.train_max_steps_label.setText(QCoreApplication.translate("NewJobForm", u"Max steps", None))
        self.train_max_steps_error.setText("")
        self.train_batch_size_label.setText(QCoreApplication.translate("NewJobForm", u"Batch size", None))
        self.train_batch_size_error.setText("")
        self.train_seq_len_label.setText(QCoreApplication.translate("NewJobForm", u"Sequence length", None))
        self.train_seq_len_error.setText("")
        self.train_lr_label.setText(QCoreApplication.translate("NewJobForm", u"Learning rate", None))
        self.train_lr_error.setText("")
        self.train_seed_label.setText(QCoreApplication.translate("NewJobForm", u"Seed", None))
        self.train_seed_error.setText("")
        self.train_warmup_steps_label.setText(QCoreApplication.translate("NewJobForm", u"Warm-up steps", None))
        self.train_warmup_steps_error.setText("")
        self.train_eval_every_label.setText(QCoreApplication.translate("NewJobForm", u"Evaluate every", None))
        self.train_eval_every_edit.setPlaceholderText(QCoreApplication.translate("NewJobForm", u"steps; 0 = only at the end", None))
        self.train_eval_every_error.setText("")
        self.train_checkpoint_every_label.setText(QCoreApplication.translate("NewJobForm", u"Checkpoint every", None))
        self.train_checkpoint_every_edit.setPlaceholderText(QCoreApplication.translate("NewJobForm", u"steps; 0 = at pause and end", None))
        self.train_checkpoint_every_error.setText("")
        self.general_error.setText("")
        self.open_spec_button.setText(QCoreApplication.translate("NewJobForm", u"Open spec\u2026", None))
        self.save_spec_button.setText(QCoreApplication.translate("NewJobForm", u"Save as spec\u2026", None))
        self.cancel_button.setText(QCoreApplication.translate("NewJobForm", u"Cancel", None))
        self.submit_button.setText(QCoreApplication.translate("NewJobForm", u"Submit", None))
    # retranslateUi
